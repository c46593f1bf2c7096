from odoo import fields, models


class StockPicking(models.Model):
    _inherit = "stock.picking"

    meso_session_id = fields.Many2one(
        "meso.treatment.session", "Treatment session", index="btree_not_null", copy=False
    )
