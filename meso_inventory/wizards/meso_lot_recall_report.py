import base64
import tempfile

from odoo import fields, models
from odoo.exceptions import AccessError

from ..report.meso_audit_xlsx import AuditWorkbook, Column, PageSetup

FIGURES = ("received", "consumed", "discarded", "quarantined", "returned", "on_hand")


class MesoLotRecallReport(models.TransientModel):
    """The recall report of lots, for the manufacturer or the authority: as an xlsx
    workbook (the audit export's writer) or as a PDF. The figures come from
    `stock.lot._meso_recall_report_data`."""

    _name = "meso.lot.recall.report"
    _description = "Recall report"
    # it may name patients: downloaded at once, it does not linger
    _transient_max_hours = 0.25

    lot_ids = fields.Many2many("stock.lot", string="Lots", required=True)
    named = fields.Boolean(
        "Name the patients",
        help="Patients and sessions are pseudonymised unless the authority asks for names.",
    )
    file_data = fields.Binary("Workbook", readonly=True)
    file_name = fields.Char(readonly=True)

    def _meso_check_manager(self):
        if not self.env.user.has_group("meso_inventory.group_manager"):
            raise AccessError(self.env._("Only a clinic manager can print a recall report."))

    def _meso_figure_labels(self):
        return {
            "received": self.env._("Received (receipts, counted in)"),
            "consumed": self.env._("Consumed in sessions"),
            "discarded": self.env._("Discarded (scrapped, counted out)"),
            "quarantined": self.env._("In quarantine"),
            "returned": self.env._("Returned to the vendor"),
            "on_hand": self.env._("On hand"),
        }

    def action_export_xlsx(self):
        self.ensure_one()
        self._meso_check_manager()
        self.write({"file_data": self._meso_workbook(), "file_name": self._meso_file_name()})
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self._name}/{self.id}/file_data/{self.file_name}?download=true",
            "target": "self",
        }

    def action_print_pdf(self):
        self.ensure_one()
        self._meso_check_manager()
        return self.env.ref("meso_inventory.stock_lot_recall_report_action").report_action(
            self.lot_ids, data={"named": self.named}
        )

    def _meso_file_name(self):
        names = "-".join(self.lot_ids.mapped("name"))[:60]
        return f"recall-{names}.xlsx"

    def _meso_sheets(self):
        """(title, columns, rows) of the workbook: the figures of each lot, with the
        check, then the sessions that consumed them."""
        labels = self._meso_figure_labels()
        figure_columns = (
            [
                Column("lot", self.env._("Lot"), "text", 16),
                Column("product", self.env._("Product"), "text", 36),
                Column("reference", self.env._("Recall notice"), "text", 18),
            ]
            + [Column(key, labels[key], "qty", 12) for key in FIGURES]
            + [Column("check", self.env._("Adds up"), "text", 8)]
        )
        session_columns = [
            Column("lot", self.env._("Lot"), "text", 16),
            Column("session", self.env._("Session"), "text", 18),
            Column("date", self.env._("Date"), "datetime", 17),
            Column("patient", self.env._("Patient"), "text", 24),
            Column("clinic", self.env._("Clinic"), "text", 18),
            Column("vials", self.env._("Vials from stock"), "qty", 10, True),
            Column("ml", self.env._("ml injected"), "qty", 10, True),
        ]
        figure_rows, session_rows = [], []
        for lot in self.lot_ids:
            data = lot._meso_recall_report_data(named=self.named)
            figure_rows.append(
                [lot.name, lot.product_id.display_name, lot.meso_recall_reference or ""]
                + [data["figures"][key] for key in FIGURES]
                + [self.env._("yes") if data["balanced"] else self.env._("no")]
            )
            session_rows += [
                [lot.name] + [row[column.key] for column in session_columns[1:]]
                for row in data["sessions"]
            ]
        return [
            (self.env._("Recall"), figure_columns, figure_rows),
            (self.env._("Consumption"), session_columns, session_rows),
        ]

    def _meso_workbook(self):
        with tempfile.TemporaryFile() as fileobj:
            book = AuditWorkbook(
                fileobj,
                total_label=self.env._("Total"),
                page=PageSetup(
                    header_left=self.env.company.name, footer=self.env._("Recall report")
                ),
            )
            for title, columns, rows in self._meso_sheets():
                book.sheet(title, columns, rows)
            book.close()
            fileobj.seek(0)
            return base64.b64encode(fileobj.read())
