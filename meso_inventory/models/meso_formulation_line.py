from odoo import api, fields, models
from odoo.exceptions import ValidationError


class MesoFormulationLine(models.Model):
    _name = "meso.formulation.line"
    _description = "Vial in a formulation"
    _order = "formulation_id, sequence, id"
    _check_company_auto = True

    sequence = fields.Integer(default=10)
    formulation_id = fields.Many2one(
        "meso.formulation", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="formulation_id.company_id", store=True)
    product_id = fields.Many2one(
        "product.product",
        "Vial",
        required=True,
        check_company=True,
        domain="[('meso_is_vial', '=', True)]",
    )
    volume_ml = fields.Float("Volume (ml)", required=True, digits=(16, 2))

    @api.constrains("volume_ml", "product_id")
    def _check_volume(self):
        for line in self:
            if line.volume_ml <= 0:
                raise ValidationError(
                    self.env._(
                        "Set a volume greater than zero for %(product)s in %(formulation)s.",
                        product=line.product_id.display_name,
                        formulation=line.formulation_id.display_name,
                    )
                )
            if not line.product_id.meso_is_vial:
                raise ValidationError(
                    self.env._(
                        "%(product)s is not a mesotherapy vial: only vials can be part of "
                        "a formulation.",
                        product=line.product_id.display_name,
                    )
                )
