from odoo import fields, models


class StockMove(models.Model):
    _inherit = "stock.move"

    meso_session_id = fields.Many2one(
        "meso.treatment.session", "Treatment session", index="btree_not_null", copy=False
    )
    meso_session_line_id = fields.Many2one(
        "meso.treatment.session.line", index="btree_not_null", copy=False
    )

    def _prepare_merge_moves_distinct_fields(self):
        # two lines of a session taking the same vial keep their own moves, lots and trace
        return super()._prepare_merge_moves_distinct_fields() + ["meso_session_line_id"]
