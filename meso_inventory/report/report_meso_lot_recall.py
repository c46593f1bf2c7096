from odoo import api, models
from odoo.exceptions import AccessError


class ReportMesoLotRecall(models.AbstractModel):
    """The values of the recall report's PDF: each lot's figures and sessions."""

    _name = "report.meso_inventory.report_meso_lot_recall"
    _description = "Recall report (PDF)"

    @api.model
    def _get_report_values(self, docids, data=None):
        if not self.env.user.has_group("meso_inventory.group_manager"):
            raise AccessError(self.env._("Only a clinic manager can print a recall report."))
        lots = self.env["stock.lot"].browse(docids)
        lots.check_access("read")
        named = bool((data or {}).get("named"))
        wizard = self.env["meso.lot.recall.report"]
        return {
            "doc_ids": docids,
            "doc_model": "stock.lot",
            "docs": lots,
            "reports": [lot._meso_recall_report_data(named=named) for lot in lots],
            "labels": wizard._meso_figure_labels(),
        }
