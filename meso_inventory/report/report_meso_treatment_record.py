from odoo import api, models


class ReportMesoTreatmentRecord(models.AbstractModel):
    """The printed treatment record: medical data, so the sessions' access is checked
    before anything is rendered (clinic roles of the patient's company)."""

    _name = "report.meso_inventory.report_meso_treatment_record"
    _description = "Treatment record (PDF)"

    @api.model
    def _get_report_values(self, docids, data=None):
        sessions = self.env["meso.treatment.session"].browse(docids)
        sessions.check_access("read")
        return {
            "doc_ids": docids,
            "doc_model": "meso.treatment.session",
            "docs": sessions,
            "data": data,
        }
