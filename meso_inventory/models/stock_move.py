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

    def _push_apply(self):
        # A session's consumption ends at the patient, and a cancelled session's return
        # goes back to the shelf it came from: no push rule applies to either (Odoo would
        # look one up level by level of the destination, six queries a move).
        return super(StockMove, self.filtered(lambda move: not move.meso_session_id))._push_apply()

    def _trigger_scheduler(self):
        # A session's consumption is reordered by the session itself, after its moves are
        # done and while it holds the vendor's key
        # (stock.warehouse.orderpoint._meso_replenish_after): Odoo's trigger at
        # confirmation would compute the same rules' forecasts once more, outside that key.
        return super(
            StockMove, self.filtered(lambda move: not move.meso_session_id)
        )._trigger_scheduler()
