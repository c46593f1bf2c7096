from odoo import models
from odoo.tools import float_repr, float_round, formatLang


class UomUom(models.Model):
    _inherit = "uom.uom"

    def _meso_format_quantity(self, quantity, with_unit=True):
        """A quantity as people write it in a message: rounded to the unit's rounding,
        without trailing zeros, in the user's language, then the unit's name
        ("4 Vials", "2.5 Boxes", "1,250 Units"); the number alone without a unit or
        with_unit=False."""
        if self:
            self.ensure_one()
        rounding = self.rounding or 0.01
        rounded = float_round(quantity or 0.0, precision_rounding=rounding)
        # as many decimals as the unit's rounding has (0.01: two), of which those in use
        digits = len(float_repr(rounding, 6).rstrip("0").partition(".")[2])
        used = len(float_repr(rounded, digits).rstrip("0").partition(".")[2])
        number = formatLang(self.env, rounded, digits=used)
        if not self or not with_unit:
            return number
        return self.env._("%(quantity)s %(unit)s", quantity=number, unit=self.name)
