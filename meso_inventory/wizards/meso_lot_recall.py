from odoo import fields, models


class MesoLotRecall(models.TransientModel):
    """The recall notice, typed once for one or several lots."""

    _name = "meso.lot.recall"
    _description = "Recall lots"

    lot_ids = fields.Many2many("stock.lot", string="Lots", required=True)
    reference = fields.Char("Notice reference", required=True)
    issuer = fields.Char(required=True, help="The manufacturer or the authority.")
    reason = fields.Text(required=True)
    date = fields.Date("Notice date", required=True, default=fields.Date.context_today)

    def _meso_prepare_recall_vals(self):
        self.ensure_one()
        return {
            "reference": self.reference,
            "issuer": self.issuer,
            "reason": self.reason,
            "date": self.date,
        }

    def action_recall(self):
        self.ensure_one()
        self.lot_ids.action_meso_recall(self._meso_prepare_recall_vals())
        return {"type": "ir.actions.act_window_close"}
