from odoo import fields, models


class MesoFormulationLine(models.Model):
    _name = "meso.formulation.line"
    _inherit = ["meso.vial.line"]
    _description = "Vial in a formulation"
    _order = "formulation_id, sequence, id"

    formulation_id = fields.Many2one(
        "meso.formulation", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="formulation_id.company_id", store=True)
