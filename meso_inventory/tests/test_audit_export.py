import base64
import io
import zipfile
from datetime import date, datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time
from openpyxl import Workbook, load_workbook

from odoo.exceptions import UserError
from odoo.tests import tagged

from ..report import meso_audit_xlsx
from ..wizards import meso_audit_count_import
from .common import MesoCommon

NOW = datetime(2026, 3, 2, 9, 0)
SHEETS = [
    "Summary",
    "Stock by lot",
    "Expiring",
    "Consumption",
    "Reorder status",
    "Count sheet",
    "Recall",
]


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestAuditExport(MesoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vial = cls._create_vial("HA booster 2 ml", volume=2.0, standard_price=10.0)
        cls.product = cls.vial.product_variant_id
        cls.expired = cls._create_lot(cls.vial, "L0-EXPIRED", -5, now=NOW)
        cls.near = cls._create_lot(cls.vial, "L1-NEAR", 20, now=NOW)
        cls.far = cls._create_lot(cls.vial, "L2-FAR", 200, now=NOW)
        with freeze_time(NOW - timedelta(days=30)):
            for lot, qty in ((cls.expired, 2), (cls.near, 5), (cls.far, 3)):
                cls._count(lot, qty)
        cls.patient = cls._create_patient("Claire Martin")
        cls.gauze = cls.env["product.template"].create({"name": "Gauze", "is_storable": True})
        cls.orderpoint = cls.env["stock.warehouse.orderpoint"].create(
            {
                "product_id": cls.product.id,
                "warehouse_id": cls.warehouse.id,
                "product_min_qty": 1,
                "product_max_qty": 5,
            }
        )

    @classmethod
    def _count(cls, lot, qty):
        """Stock that arrives through a real inventory adjustment, hence valued by Odoo."""
        cls.env["stock.quant"].with_context(inventory_mode=True).create(
            {
                "product_id": lot.product_id.id,
                "location_id": cls.stock_location.id,
                "lot_id": lot.id,
                "inventory_quantity": qty,
            }
        ).action_apply_inventory()

    def _treat(self):
        with freeze_time(NOW - timedelta(days=2)):
            session = self._session(self.patient, [(self.vial, 4.0)])
            session.action_done()
        return session

    def _export(self, **options):
        wizard = self.env["meso.audit.export"].create(
            dict({"warehouse_id": self.warehouse.id}, **options)
        )
        action = wizard.action_export()
        self.assertEqual(action["type"], "ir.actions.act_url")
        self.assertTrue(wizard.file_name.endswith(".xlsx"))
        content = base64.b64decode(wizard.file_data)
        return (
            wizard,
            content,
            load_workbook(io.BytesIO(content)),
            load_workbook(io.BytesIO(content), data_only=True),
        )

    @staticmethod
    def _rows(sheet):
        return [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]

    def test_every_sheet_is_a_real_table(self):
        self._treat()
        _wizard, _content, book, _values = self._export()
        self.assertEqual(book.sheetnames[: len(SHEETS)], SHEETS)
        self.assertEqual(book["_meso"].sheet_state, "hidden")
        for name in SHEETS:
            sheet = book[name]
            self.assertEqual(sheet.freeze_panes, "A2", name)
            self.assertTrue(sheet.auto_filter.ref, name)
            self.assertTrue(sheet["A1"].font.bold, name)
        stock = book["Stock by lot"]
        self.assertEqual(stock["I2"].value, "=G2*H2")
        self.assertIsInstance(stock["D2"].value, datetime)
        total = [row for row in stock.iter_rows(values_only=True) if row[0] == "Total"]
        self.assertTrue(total and total[0][6].startswith("=SUBTOTAL(109,G2:G"))
        self.assertTrue(stock.conditional_formatting)

    def test_stock_by_lot_expiring_and_summary_values(self):
        self._treat()
        _wizard, _content, _book, values = self._export()
        stock = [row for row in self._rows(values["Stock by lot"]) if row[0] != "Total"]
        by_lot = {row[2]: row for row in stock}
        self.assertEqual(set(by_lot), {"L0-EXPIRED", "L1-NEAR", "L2-FAR"})
        self.assertEqual(by_lot["L1-NEAR"][3].date(), date(2026, 3, 22))
        self.assertEqual(by_lot["L1-NEAR"][4], 20)
        self.assertEqual(by_lot["L0-EXPIRED"][4], -5)
        self.assertEqual([by_lot[lot][6] for lot in ("L0-EXPIRED", "L1-NEAR", "L2-FAR")], [2, 3, 3])
        self.assertEqual(by_lot["L1-NEAR"][7], 10.0)
        self.assertEqual(by_lot["L1-NEAR"][8], 30.0)
        self.assertIn("Hyaluronic acid 15 mg/ml", by_lot["L1-NEAR"][1])
        expiring = [row[2] for row in self._rows(values["Expiring"]) if row[0] != "Total"]
        self.assertEqual(expiring, ["L0-EXPIRED", "L1-NEAR"])
        summary = self._rows(values["Summary"])[0]
        layers = self.env["stock.valuation.layer"].search([("product_id", "=", self.product.id)])
        self.assertEqual(
            summary[:6], ["HA booster 2 ml", None, 8, 16, sum(layers.mapped("value")), 3]
        )
        self.assertEqual(summary[6].date(), date(2026, 2, 25))
        self.assertEqual(summary[7:9], [2, 4])

    def test_consumption_reorder_count_and_recall(self):
        session = self._treat()
        _wizard, _content, _book, values = self._export()
        consumption = [row for row in self._rows(values["Consumption"]) if row[0] != "Total"]
        self.assertEqual(len(consumption), 1)
        self.assertEqual(
            consumption[0][1:],
            [
                session.name,
                "Claire Martin",
                self.env.user.name,
                "HA booster 2 ml",
                "L1-NEAR",
                4,
                2,
                0,
                20,
            ],
        )
        reorder = self._rows(values["Reorder status"])[0]
        self.assertEqual(reorder[0], "HA booster 2 ml")
        self.assertEqual(reorder[2:7], [8, 6, 6, 1, 5])  # the expired 2 are not usable
        count = {row[2]: row for row in self._rows(values["Count sheet"]) if row[0] != "Total"}
        self.assertEqual(count["L2-FAR"][3].date(), date(2026, 9, 18))
        self.assertEqual(count["L2-FAR"][4], 3)
        self.assertIsNone(count["L2-FAR"][5])
        recall = [row for row in self._rows(values["Recall"]) if row[0] != "Total"]
        self.assertEqual(len(recall), 1)
        self.assertEqual(recall[0][:2], ["L1-NEAR", "HA booster 2 ml"])
        self.assertEqual(recall[0][2].date(), date(2026, 3, 22))
        self.assertEqual(
            recall[0][3:6] + recall[0][8:],
            ["Claire Martin", 1, session.name, self.env.user.name, 4],
        )
        self.assertEqual(recall[0][6], recall[0][7])
        self.assertEqual(recall[0][6], consumption[0][0])

    def test_recall_groups_sessions_by_lot_and_patient_and_reorder_shows_rfqs(self):
        vendor = self.env["res.partner"].create({"name": "Derma Supplies"})
        self.vial.seller_ids = [(0, 0, {"partner_id": vendor.id, "price": 9.0, "min_qty": 1})]
        self.orderpoint.write({"product_min_qty": 4, "product_max_qty": 6})
        other = self._create_patient("Zoé Bernard")
        sessions = self.env["meso.treatment.session"]
        for days, patient, ml in ((4, self.patient, 4.0), (2, other, 2.0), (1, self.patient, 4.0)):
            with freeze_time(NOW - timedelta(days=days)):
                session = self._session(patient, [(self.vial, ml)])
                session.action_done()
                sessions |= session
        _wizard, _content, _book, values = self._export()
        recall = [row for row in self._rows(values["Recall"]) if row[0] != "Total"]
        self.assertEqual(
            [(row[0], row[3], row[4], row[5], row[9]) for row in recall],
            [
                ("L1-NEAR", "Claire Martin", 2, f"{sessions[0].name}, {sessions[2].name}", 8),
                ("L1-NEAR", "Zoé Bernard", 1, sessions[1].name, 2),
            ],
        )
        first, last = recall[0][6:8]
        self.assertEqual((last - first).days, 3)
        total = next(row for row in self._rows(values["Recall"]) if row[0] == "Total")
        self.assertEqual((total[4], total[9]), (3, 10))
        # 5 near vials used: 5 on hand of which 2 expired, below the minimum of 4
        rfq = self.env["purchase.order"].search([("partner_id", "=", vendor.id)])
        self.assertEqual(rfq.state, "draft")
        reorder = self._rows(values["Reorder status"])[0]
        # forecast as on the Replenishment screen: with the open RFQ
        self.assertEqual(reorder[2:5], [5, 3, 3 + rfq.order_line.product_qty])
        self.assertEqual(reorder[9:], [rfq.order_line.product_qty, rfq.name])
        summary = self._rows(values["Summary"])[0]
        self.assertEqual(summary[10], "yes")

    def test_stock_as_of_a_past_date(self):
        self._treat()
        _wizard, _content, _book, values = self._export(as_of=NOW - timedelta(days=3))
        stock = {row[2]: row[6] for row in self._rows(values["Stock by lot"]) if row[0] != "Total"}
        self.assertEqual(stock["L1-NEAR"], 5)
        _wizard, _content, _book, values = self._export(as_of=NOW - timedelta(days=40))
        self.assertEqual(
            [row for row in self._rows(values["Stock by lot"]) if row[0] != "Total"], []
        )

    def test_pseudonyms_are_stable_and_hide_the_name(self):
        session = self._treat()
        _w, content, book, values = self._export(pseudonymise=True)
        pseudonym = self._rows(values["Consumption"])[0][2]
        self.assertRegex(pseudonym, r"^PT-[0-9A-F]{10}$")
        self.assertNotIn(b"Claire", content)
        # nothing leads back to the person: not the session reference (which pickings
        # carry), not the database, not the document's properties
        reference = self._rows(values["Consumption"])[0][1]
        self.assertRegex(reference, r"^SE-[0-9A-F]{10}$")
        self.assertEqual(self._rows(values["Recall"])[0][5], reference)
        dbname = self.env.cr.dbname
        for sheet in values.worksheets:
            for row in sheet.iter_rows(values_only=True):
                for cell in row:
                    self.assertNotIn(str(cell or ""), ("Claire Martin", session.name, dbname))
                    self.assertNotIn(session.name, str(cell or ""))
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            for member in archive.namelist():
                text = archive.read(member)
                for secret in ("Claire", session.name, dbname):
                    self.assertNotIn(secret.encode(), text, member)
        properties = book.properties
        self.assertFalse(properties.creator or properties.lastModifiedBy or properties.title)
        _w, _content, _book, again = self._export(pseudonymise=True)
        self.assertEqual(self._rows(again["Consumption"])[0][2], pseudonym)
        self.assertEqual(self._rows(again["Recall"])[0][3], pseudonym)

    # -- counts back ---------------------------------------------------------
    def _filled(self, content, counts, edit=None):
        """The count sheet with `counts` {lot name: counted} typed in, after `edit`
        (a function of the sheet and its column letters) if any."""
        book = load_workbook(io.BytesIO(content))
        sheet = book["Count sheet"]
        col = {cell.value: cell.column_letter for cell in sheet[1]}
        for row in sheet.iter_rows(min_row=2):
            if row[2].value in counts:
                sheet[f"{col['Counted']}{row[0].row}"] = counts[row[2].value]
        if edit:
            edit(sheet, col)
        buffer = io.BytesIO()
        book.save(buffer)
        return base64.b64encode(buffer.getvalue())

    def _import(self, wizard, file_data, **values):
        """Apply the counts of `file_data` to the clinic of the export `wizard`."""
        return self._count_import(wizard, file_data, **values).action_import_counts()

    def _count_import(self, wizard, file_data, **values):
        action = wizard.action_open_count_import()
        Import = self.env[action["res_model"]].with_context(action["context"])
        return Import.create(dict({"import_file": file_data}, **values))

    def _qty(self, lot):
        lot.invalidate_recordset(["product_qty"])
        return lot.product_qty

    def test_count_sheet_round_trip(self):
        wizard, content, _book, _values = self._export()
        self._import(
            wizard,
            self._filled(content, {"L1-NEAR": 4, "L2-FAR": "3"}),
            import_reason="Annual count",
        )
        self.assertEqual(
            (self._qty(self.near), self._qty(self.far), self._qty(self.expired)), (4, 3, 2)
        )
        move = self.env["stock.move"].search(
            [("product_id", "=", self.product.id), ("name", "=", "Annual count")]
        )
        self.assertEqual(move.state, "done")
        self.assertEqual(move.product_qty, 1)

    def test_refused_imports_leave_stock_untouched(self):
        wizard, content, _book, _values = self._export()
        before = (self._qty(self.near), self._qty(self.far))
        other = Workbook()
        buffer = io.BytesIO()
        other.save(buffer)

        def tamper(sheet, col):
            sheet[f"{col['lot_id']}2"] = 999999  # a lot that does not exist
            sheet[f"{col['Counted']}2"] = 1

        def wrong_lot(sheet, col):
            sheet[f"{col['Lot']}3"] = "L2-FAR"  # typed over the row of L1-NEAR

        def duplicate(sheet, col):
            for column in (
                "Location",
                "Product",
                "Lot",
                "Counted",
                "location_id",
                "product_id",
                "lot_id",
            ):
                sheet[f"{col[column]}5"] = sheet[f"{col[column]}3"].value

        def gauze(sheet, col):  # a row added for a product that is not a vial
            sheet[f"{col['Location']}6"] = self.stock_location.display_name
            sheet[f"{col['Product']}6"] = self.gauze.display_name
            sheet[f"{col['Counted']}6"] = 1

        def too_long(sheet, col):
            for row in range(6, 6 + 3 + meso_audit_count_import.MAX_ADDED_ROWS):
                sheet[f"{col['Location']}{row}"] = "x"

        cases = [
            (base64.b64encode(b"not a spreadsheet"), "not a stock audit export"),
            (base64.b64encode(buffer.getvalue()), "not a stock audit export"),
            (
                self._filled(content, {"L1-NEAR": "three", "L2-FAR": 1}),
                "Row 3: the count “three” is not a number",
            ),
            (self._filled(content, {"L1-NEAR": -1}), "is not a number of vials"),
            (self._filled(content, {"L1-NEAR": "nan"}), "the count “nan” is not a number"),
            (self._filled(content, {"L1-NEAR": "inf"}), "the count “inf” is not a number"),
            (self._filled(content, {"L1-NEAR": 1e308}), "is not a number of vials"),
            (self._filled(content, {"L1-NEAR": 2.5}), "Row 3: 2.5 is not a whole number of Units"),
            (self._filled(content, {}, tamper), "Row 2: the hidden columns were changed"),
            (
                self._filled(content, {"L1-NEAR": 4}, wrong_lot),
                "Row 3: the lot “L2-FAR” is not this row's lot \\(L1-NEAR\\)",
            ),
            (
                self._filled(content, {"L1-NEAR": 4}, duplicate),
                "Row 5 counts the same location, vial and lot as row 3",
            ),
            (
                self._filled(content, {"L1-NEAR": 4}, gauze),
                "Row 6: Gauze is not a mesotherapy vial",
            ),
            (self._filled(content, {}, too_long), "more rows than its export and 1000 added"),
        ]
        for file_data, message in cases:
            with self.assertRefused(UserError, message, msg=message):
                self._import(wizard, file_data)
            self.assertEqual((self._qty(self.near), self._qty(self.far)), before)
        with self.assertRefused(UserError, "No counted quantity"):
            self._import(wizard, self._filled(content, {}))

    def test_count_sheet_counted_before_sessions_is_applied_as_of_its_export(self):
        wizard, content, _book, _values = self._export()
        with freeze_time(NOW + timedelta(hours=2)):
            self._session(self.patient, [(self.vial, 4.0)]).action_done()  # 2 of L1-NEAR
            self.assertEqual(self._qty(self.near), 3)
            # the counter found the 5 vials of L1-NEAR on the shelf before the sessions
            self._import(wizard, self._filled(content, {"L1-NEAR": 5, "L2-FAR": 3}))
        self.assertEqual((self._qty(self.near), self._qty(self.far)), (3, 3))
        self.assertFalse(self.env["stock.move"].search([("name", "=", "Stock audit count")]))

    def test_count_sheet_accepts_a_row_added_for_a_vial_found_on_the_shelf(self):
        wizard, content, _book, _values = self._export()
        found = self._create_lot(self.vial, "L3-FOUND", 100, now=NOW)

        def add(lot, expiry=None):
            def edit(sheet, col):
                row = sheet.max_row + 1
                sheet[f"{col['Location']}{row}"] = self.stock_location.display_name
                sheet[f"{col['Product']}{row}"] = self.product.display_name
                sheet[f"{col['Lot']}{row}"] = lot
                sheet[f"{col['Expiration date']}{row}"] = expiry
                sheet[f"{col['Counted']}{row}"] = 2

            return edit

        with self.assertRefused(UserError, "lot L4-NEW of HA booster 2 ml does not exist: give"):
            self._import(wizard, self._filled(content, {}, add("L4-NEW")))
        self._import(wizard, self._filled(content, {}, add("L3-FOUND")))
        self.assertEqual(self._qty(found), 2)
        self._import(wizard, self._filled(content, {}, add("L4-NEW", datetime(2027, 5, 31))))
        new = self.env["stock.lot"].search([("name", "=", "L4-NEW")])
        self.assertEqual((new.product_id, self._qty(new)), (self.product, 2))
        self.assertEqual(new.expiration_date.date(), date(2027, 5, 31))

    def test_bad_options_refused(self):
        with self.assertRefused(UserError, "ends before it starts"):
            self._export(period_start=NOW, period_end=NOW - timedelta(days=1))

    def test_sheet_longer_than_a_spreadsheet_refused(self):
        wizard = self.env["meso.audit.export"].create({"warehouse_id": self.warehouse.id})
        # three lots in stock: with room for one data row, "Stock by lot" overflows
        with (
            patch.object(meso_audit_xlsx, "MAX_ROWS", 3),
            self.assertRefused(UserError, "Stock by lot would have more than 1 rows"),
        ):
            wizard.action_export()
        self.assertFalse(wizard.file_data)
