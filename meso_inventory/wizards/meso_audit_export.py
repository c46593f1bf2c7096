import base64
import tempfile
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_datetime, hmac

from ..report.meso_audit_xlsx import PAPER_SIZES, AuditWorkbook, PageSetup, SheetFull, sheet_name


class MesoAuditExport(models.TransientModel):
    """What the user picks for the stock audit workbook, and the button that builds it.
    The rows come from `meso.audit.collector`, the file from the writer in
    report/meso_audit_xlsx.py; a filled-in count sheet goes back through
    `meso.audit.count.import`."""

    _name = "meso.audit.export"
    _inherit = ["meso.number.check.mixin", "meso.audit.clinic.mixin"]
    _description = "Stock audit export"
    _meso_number_bounds = {"horizon_days": (0, 3650)}
    # the workbook names patients: it is downloaded at once, and does not linger
    _transient_max_hours = 0.25

    as_of = fields.Datetime("Stock as of", required=True, default=fields.Datetime.now)
    horizon_days = fields.Integer("Expiring within (days)", required=True, default=90)
    period_start = fields.Datetime(
        "Consumption from",
        required=True,
        default=lambda self: fields.Datetime.now() - timedelta(days=90),
    )
    period_end = fields.Datetime("Consumption to", required=True, default=fields.Datetime.now)
    pseudonymise = fields.Boolean(
        "Pseudonymise patients",
        help="Replace patient names by a stable code, for auditors outside the clinic.",
    )
    include_adverse_events = fields.Boolean(
        "Include adverse events",
        help="Adds a sheet of the adverse events after the period's sessions: medical data, "
        "exported only when asked.",
    )
    file_data = fields.Binary("Workbook", readonly=True)
    file_name = fields.Char(readonly=True)

    def action_export(self):
        self.ensure_one()
        self._check_options()
        # titles, headers and labels in the language of the user who exports
        export = self.with_context(lang=self.env.lang or self.env.user.lang)
        content = export._meso_workbook()
        self.write({"file_data": content, "file_name": self._meso_file_name()})
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self._name}/{self.id}/file_data/{self.file_name}?download=true",
            "target": "self",
        }

    def action_open_count_import(self):
        """The wizard that applies a filled-in count sheet of this clinic."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Apply audit counts"),
            "res_model": "meso.audit.count.import",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {
                "default_company_id": self.company_id.id,
                "default_warehouse_id": self.warehouse_id.id,
            },
        }

    def _meso_workbook(self):
        """The xlsx file, base64-encoded."""
        sheets, reads = self.env["meso.audit.collector"]._collect(self)
        with tempfile.TemporaryFile() as fileobj:
            book = AuditWorkbook(
                fileobj,
                horizon_days=self.horizon_days,
                total_label=self.env._("Total"),
                page=self._meso_page_setup(),
            )
            try:
                for sheet in sheets:
                    book.sheet(sheet.title, sheet.columns, sheet.rows, expiry_key=sheet.expiry_key)
            except SheetFull as full:
                name, rows = full.args
                raise UserError(
                    self.env._(
                        "The sheet %(sheet)s would have more than %(rows)s rows, the most a "
                        "spreadsheet holds. Export a shorter consumption period.",
                        sheet=name,
                        rows=format(rows, ","),
                    )
                ) from None
            count = next(sheet for sheet in sheets if sheet.key == "count")
            book.meta(
                {
                    "company_id": self.company_id.id,
                    "warehouse_id": self.warehouse_id.id,
                    # names no database: a token an import of this database recognises
                    "database": self._meso_database_token(),
                    "count_rows": reads["count_rows"],
                    # where the import finds the counts, whatever the language
                    "count_sheet": sheet_name(count.title),
                    "count_columns": ",".join(column.key for column in count.columns),
                    "lang": self.env.lang or "en_US",
                    "exported_at": fields.Datetime.to_string(fields.Datetime.now()),
                }
            )
            book.close()
            # the rows and the records read for them are not needed for the file itself
            del sheets, reads
            self.env.invalidate_all()
            fileobj.seek(0)
            return base64.b64encode(fileobj.read())

    def _meso_page_setup(self):
        """Printed as the company's reports are: its paper format, A4 unless it says
        otherwise; the clinic and the export date in the page header."""
        paper = self.company_id.paperformat_id.format
        exported = format_datetime(self.env, fields.Datetime.now(), dt_format=False)
        return PageSetup(
            paper=PAPER_SIZES.get(paper, PAPER_SIZES["A4"]),
            header_left=f"{self.company_id.name} – {self.warehouse_id.name}",
            header_right=self.env._("Exported %(date)s", date=exported),
            footer=self.env._("Stock audit"),
            page=self.env._("Page %(page)s of %(pages)s", page="&P", pages="&N"),
        )

    def _meso_file_name(self):
        stamp = fields.Datetime.to_string(self.as_of)[:10]
        suffix = "_pseudonymised" if self.pseudonymise else ""
        return f"stock-audit-{self.warehouse_id.code}-{stamp}{suffix}.xlsx"

    def _meso_other_company_refusal(self):
        return self.env._("You can only export the stock of a company you work for.")

    @api.model
    def _meso_database_token(self):
        return hmac(self.env(su=True), "meso_inventory.audit-database", self.env.cr.dbname)[:16]

    def _check_options(self):
        self._check_company_of_user()
        if self.horizon_days < 0:
            raise UserError(self.env._("The expiry horizon must be zero or more days."))
        if self.period_start > self.period_end:
            raise UserError(self.env._("The consumption period ends before it starts."))
