import io
import zipfile
from datetime import date, datetime

from openpyxl import load_workbook

from odoo.tests import BaseCase, tagged

from ..report.meso_audit_xlsx import TEXT_WIDTH_MAX, AuditWorkbook, Column, PageSetup

COLUMNS = [
    Column("day", "Day", "date", 12),
    Column("when", "When", "datetime", 17),
    Column("text", "Text", "text", 20),
    Column("count", "Count", "int", 8, True),
    Column("qty", "Qty", "qty", 9, True),
    Column("value", "Value", "formula", 10, True, formula="={col_count}{row}*{col_qty}{row}"),
    Column("ref", "ref", "int", 4, hidden=True),
    Column(
        "variance",
        "Variance",
        "formula",
        10,
        formula='=IF({col_count}{row}="","",{col_count}{row}-{col_qty}{row})',
    ),
]
ROWS = [
    (date(2026, 3, 1), datetime(2026, 3, 1, 9, 30, 15), "Hyaluronic acid 1%", 3, 2.5, 7.5, 11, 0.5),
    (None, None, None, None, None, None, None, None),
    (False, False, "", 0, 0.0, 0, False, ""),
    (
        date(1900, 1, 1),
        datetime(2099, 12, 31, 23, 59),
        "Vitamin B & C <forte>",
        10**17,
        1 / 3,
        None,
        12,
        None,
    ),
    (date(2026, 3, 2), datetime(2026, 3, 2), " leading space", -4, -0.1, "", 13, -3.9),
    (date(2026, 3, 3), datetime(2026, 3, 3), "bell\x07 and _x0041_", 1, 1e-20, 2.5, 14, 1),
    (
        date(2026, 3, 4),
        datetime(2026, 3, 4),
        "Ünïcødé ✓ 😀",
        2,
        1e20,
        0.30000000000000004,
        15,
        -1e20,
    ),
    (date(2026, 3, 5), datetime(2026, 3, 5), "x" * 20000, True, 2, False, 16, False),
]


@tagged("post_install", "-at_install")
class TestAuditWorkbook(BaseCase):
    """The writer's row templates against xlsxwriter's own cell methods."""

    @staticmethod
    def _workbook(row_templates):
        buffer = io.BytesIO()
        book = AuditWorkbook(buffer, row_templates=row_templates)
        book.sheet("Table", COLUMNS, iter(ROWS), expiry_key="count")
        book.sheet("Empty", COLUMNS, [])
        book.meta({"exported_at": "2026-03-01 09:00:00"})
        book.close()
        return buffer.getvalue()

    def test_row_templates_write_what_xlsxwriter_writes(self):
        fast, reference = (self._workbook(True), self._workbook(False))
        with (
            zipfile.ZipFile(io.BytesIO(fast)) as ours,
            zipfile.ZipFile(io.BytesIO(reference)) as xl,
        ):
            self.assertEqual(ours.namelist(), xl.namelist())
            for name in ours.namelist():
                if name != "docProps/core.xml":  # holds the time of writing
                    self.assertEqual(ours.read(name), xl.read(name), name)

    def test_values_read_back(self):
        sheet = load_workbook(io.BytesIO(self._workbook(True)))["Table"]
        rows = [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]
        self.assertEqual(
            rows[0],
            [
                datetime(2026, 3, 1),
                datetime(2026, 3, 1, 9, 30, 15),
                "Hyaluronic acid 1%",
                3,
                2.5,
                "=D2*E2",
                11,
                '=IF(D2="","",D2-E2)',
            ],
        )
        self.assertEqual(
            rows[1], [None, None, None, None, None, "=D3*E3", None, '=IF(D3="","",D3-E3)']
        )
        self.assertEqual(rows[2][3:5], [0, 0])
        self.assertEqual(rows[3][2:5], ["Vitamin B & C <forte>", 10**17, 1 / 3])
        self.assertEqual(rows[4][2], " leading space")
        # control characters as Excel's _xHHHH_ escapes, which Excel decodes (openpyxl does not)
        self.assertEqual(rows[5][2], "bell_x0007_ and _x005F_x0041_")
        self.assertEqual(rows[6][2], "Ünïcødé ✓ 😀")
        self.assertEqual(len(rows[7][2]), 20000)
        self.assertEqual(rows[8][0], "Total")
        self.assertEqual(rows[8][3], "=SUBTOTAL(109,D2:D9)")
        self.assertEqual(sheet.column_dimensions["G"].hidden, True)

    def test_print_setup_and_column_widths(self):
        buffer = io.BytesIO()
        page = PageSetup(paper=1, header_left="Dupont & Fils", header_right="2026-03-01")
        book = AuditWorkbook(buffer, total_label="Somme", page=page)
        book.sheet("Table: 1/2", COLUMNS, iter(ROWS))
        book.close()
        sheet = load_workbook(io.BytesIO(buffer.getvalue()))["Table- 1-2"]
        self.assertEqual(sheet.page_setup.orientation, "landscape")
        self.assertEqual(int(sheet.page_setup.paperSize), 1)
        self.assertEqual(sheet.print_title_rows, "$1:$1")
        self.assertEqual(sheet.oddHeader.left.text, "Dupont && Fils")  # Excel shows one &
        self.assertEqual(sheet.oddHeader.center.text, "Table- 1-2")
        widths = sheet.column_dimensions
        self.assertTrue(TEXT_WIDTH_MAX <= widths["C"].width < TEXT_WIDTH_MAX + 1)  # capped
        self.assertTrue(12 <= widths["A"].width < 13)  # a date column keeps its width
        self.assertTrue(widths["G"].hidden)
        self.assertEqual(sheet.cell(row=10, column=1).value, "Somme")
