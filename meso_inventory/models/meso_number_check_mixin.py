import math

from odoo import api, models
from odoo.exceptions import ValidationError


def check_numbers(model, vals, bounds):
    """Refuse a value of `vals` outside {field name: (lowest, highest)}, or not a finite
    number, with a message naming the field of `model`."""
    for name, (low, high) in bounds.items():
        value = vals.get(name)
        if value is None or value is False:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            number = math.nan
        if not (math.isfinite(number) and low <= number <= high):
            raise ValidationError(
                model.env._(
                    "%(field)s must be a number from %(low)s to %(high)s, not %(value)s.",
                    field=model._fields[name]._description_string(model.env),
                    low=format(low, "g"),
                    high=format(high, "g"),
                    value=str(value)[:40],
                )
            )


class MesoNumberCheckMixin(models.AbstractModel):
    """Numbers are checked where they enter, before the ORM rounds or stores them:
    NaN, infinities and absurd magnitudes would otherwise end in a ValueError or
    OverflowError traceback (Odoo's rounding), or in the database as such. The core
    models the addon extends call check_numbers() from their create and write."""

    _name = "meso.number.check.mixin"
    _description = "Refuses numbers nobody types"

    # {field name: (lowest, highest)} of a value a clinic may enter; the models' own
    # constraints still say what is wrong in their terms (zero volume, protocol ranges)
    _meso_number_bounds = {}

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            check_numbers(self, vals, self._meso_number_bounds)
        return super().create(vals_list)

    def write(self, vals):
        check_numbers(self, vals, self._meso_number_bounds)
        return super().write(vals)
