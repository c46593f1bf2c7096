from odoo import api, fields, models
from odoo.exceptions import ValidationError

# More than this in one line of one session is a typing error, not a treatment.
MAX_LINE_ML = 50.0


class MesoVialLine(models.AbstractModel):
    """A volume of one vial product: a line of a formulation or of a session."""

    _name = "meso.vial.line"
    _inherit = ["meso.number.check.mixin"]
    _description = "Volume of a vial"
    _check_company_auto = True
    _meso_number_bounds = {"volume_ml": (-1e6, 1e6)}  # sign and size: _check_vial_volume

    sequence = fields.Integer(default=10)
    product_id = fields.Many2one(
        "product.product",
        "Vial",
        required=True,
        check_company=True,
        domain="[('meso_is_vial', '=', True)]",
    )
    volume_ml = fields.Float("Volume (ml)", required=True, digits=(16, 2))

    @api.constrains("volume_ml", "product_id")
    def _check_vial_volume(self):
        for line in self:
            if line.volume_ml <= 0:
                raise ValidationError(
                    self.env._(
                        "Set a volume greater than zero for %(product)s.",
                        product=line.product_id.display_name,
                    )
                )
            if line.volume_ml > MAX_LINE_ML:
                raise ValidationError(
                    self.env._(
                        "%(volume)s ml of %(product)s is more than a session ever injects "
                        "(%(max)s ml at most): check the volume.",
                        volume=line.volume_ml,
                        product=line.product_id.display_name,
                        max=MAX_LINE_ML,
                    )
                )
            if not line.product_id.meso_is_vial:
                raise ValidationError(
                    self.env._(
                        "%(product)s is not a mesotherapy vial: only vials are injected.",
                        product=line.product_id.display_name,
                    )
                )
