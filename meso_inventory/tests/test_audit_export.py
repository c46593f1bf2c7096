import base64
import io
import zipfile
from datetime import date, datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time
from openpyxl import Workbook, load_workbook

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools.translate import code_translations

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
# a few of the workbook's terms as a French .po file would give them
FRENCH = {
    "Summary": "Synthèse",
    "Stock by lot": "Stock par lot",
    "Count sheet": "Feuille de comptage",
    "Location": "Emplacement",
    "Product": "Produit",
    "Expiration date": "Date d'expiration",
    "Expected": "Attendu",
    "Counted": "Compté",
    "Variance": "Écart",
    "Total": "Total général",
}


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
        cls.manager = cls._create_user("audit-manager", "meso_inventory.group_manager")
        cls.practitioner = cls._create_user(
            "audit-practitioner", "meso_inventory.group_practitioner"
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

    def _export(self, user=None, **options):
        wizard = (
            self.env["meso.audit.export"]
            .with_user(user or self.env.user)
            .create(dict({"warehouse_id": self.warehouse.id}, **options))
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
        wizard, _content, book, _values = self._export()
        self.assertEqual(wizard.file_name, f"stock-audit-{self.warehouse.code}-2026-03-02.xlsx")
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
        wizard, content, book, values = self._export(pseudonymise=True)
        self.assertTrue(wizard.file_name.endswith("_pseudonymised.xlsx"), wizard.file_name)
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
        Import = wizard.env[action["res_model"]].with_context(**action["context"])
        return Import.create(dict({"import_file": file_data}, **values))

    def _qty(self, lot):
        lot.invalidate_recordset(["product_qty"])
        return lot.product_qty

    def test_count_sheet_round_trip(self):
        wizard, content, _book, _values = self._export()
        action = self._import(
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
        # the result opens the adjustment's moves: these, and none of the earlier ones
        opened = action["params"]["next"]
        self.assertEqual(
            (opened["type"], opened["res_model"]), ("ir.actions.act_window", "stock.move")
        )
        self.assertEqual(opened["domain"], [("id", "in", move.ids)])
        self.assertIn("1 adjusted", action["params"]["message"])

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
            action = self._import(wizard, self._filled(content, {"L1-NEAR": 5, "L2-FAR": 3}))
        self.assertEqual((self._qty(self.near), self._qty(self.far)), (3, 3))
        self.assertFalse(self.env["stock.move"].search([("name", "=", "Stock audit count")]))
        # nothing adjusted: nothing to open
        self.assertEqual(action["params"]["next"], {"type": "ir.actions.act_window_close"})

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

    # -- translated headers, print setup, roles --------------------------------
    def _french(self):
        """fr_FR active with FRENCH as meso_inventory's code translations (what its .po
        file would load), and the clinic manager working in French."""
        self.env["res.lang"]._activate_lang("fr_FR")
        key = ("meso_inventory", "fr_FR")
        before = code_translations.get_python_translations(*key)
        code_translations.python_translations[key] = {**before, **FRENCH}
        self.addCleanup(code_translations.python_translations.__setitem__, key, before)
        self.manager.lang = "fr_FR"

    def test_french_workbook_imports_back(self):
        self._french()
        self.vial.with_context(lang="fr_FR").name = "Booster AH 2 ml"
        wizard, content, book, _values = self._export(user=self.manager)
        self.assertEqual(book.sheetnames[:2], ["Synthèse", "Stock par lot"])
        sheet = book["Feuille de comptage"]
        self.assertEqual(
            [cell.value for cell in sheet[1]][:7],
            ["Emplacement", "Produit", "Lot", "Date d'expiration", "Attendu", "Compté", "Écart"],
        )
        rows = list(sheet.iter_rows(min_row=2, values_only=True))
        self.assertEqual(rows[-1][0], "Total général")
        self.assertEqual({row[1] for row in rows[:-1]}, {"Booster AH 2 ml"})

        def counted(counts):  # typed in the French sheet, found by position
            book = load_workbook(io.BytesIO(content))
            sheet = book["Feuille de comptage"]
            for row in sheet.iter_rows(min_row=2):
                if row[2].value in counts:
                    row[5].value = counts[row[2].value]
            buffer = io.BytesIO()
            book.save(buffer)
            return base64.b64encode(buffer.getvalue())

        # the manager applies it in French, an English-speaking user as well: the
        # product's name is compared in the language of the workbook
        self._import(wizard.with_user(self.manager), counted({"L1-NEAR": 4}))
        self.assertEqual((self._qty(self.near), self._qty(self.far)), (4, 3))
        self._import(wizard, counted({"L1-NEAR": 1, "L2-FAR": 2}))
        self.assertEqual((self._qty(self.near), self._qty(self.far)), (1, 2))

    def test_import_reads_no_header_text(self):
        wizard, content, _book, _values = self._export()

        def scramble(sheet, col):
            for cell in sheet[1][:7]:  # every header people see, not the hidden ids
                cell.value = "?"
            for row in sheet.iter_rows(min_row=2):
                if row[0].value == "Total":
                    row[0].value = "Somme"
            sheet.title = "Inventaire"

        self._import(wizard, self._filled(content, {"L1-NEAR": 4}, scramble))
        self.assertEqual(self._qty(self.near), 4)

        def insert(sheet, col):
            sheet.insert_cols(2)

        with self.assertRefused(UserError, "Columns of the count sheet were added"):
            self._import(wizard, self._filled(content, {"L1-NEAR": 3}, insert))
        self.assertEqual(self._qty(self.near), 4)

    def test_workbook_prints_one_page_wide_on_the_company_paper(self):
        self._treat()
        long_name = "Polyrevitalising complex with hyaluronic acid, vitamins and amino acids 5 ml"
        self._stock(self._create_lot(self._create_vial(long_name, volume=5.0), "L9", 300), 1)
        _wizard, _content, book, _values = self._export()
        for name in SHEETS:
            sheet = book[name]
            setup = sheet.page_setup
            self.assertEqual(setup.orientation, "landscape", name)
            self.assertEqual(int(setup.paperSize), 9, name)  # A4, the default paper format
            self.assertTrue(sheet.sheet_properties.pageSetUpPr.fitToPage, name)
            # one page wide (Excel's default, left out of the file), as long as it takes
            self.assertEqual((setup.fitToWidth or 1, int(setup.fitToHeight)), (1, 0), name)
            self.assertEqual(sheet.print_title_rows, "$1:$1", name)
            header = sheet.oddHeader
            self.assertIn(self.warehouse.name, header.left.text)
            self.assertIn(self.company.name, header.left.text)
            self.assertEqual(header.center.text, name)
            self.assertIn("Exported 03/02/2026", header.right.text)  # in the lang's format
            self.assertIn("&P", sheet.oddFooter.right.text)
        widths = book["Stock by lot"].column_dimensions
        # the product column as wide as its longest name, within the cap
        self.assertTrue(60 <= widths["A"].width < 62, widths["A"].width)
        self.assertTrue(17 <= book["Consumption"].column_dimensions["E"].width < 19)
        self.company.paperformat_id = self.env.ref("base.paperformat_us")
        _wizard, _content, book, _values = self._export()
        self.assertEqual(int(book["Count sheet"].page_setup.paperSize), 1)  # US Letter

    def test_count_import_with_the_roles_own_logins(self):
        wizard, content, _book, _values = self._export(user=self.manager)
        filled = self._filled(content, {"L1-NEAR": 4})
        Import = self.env["meso.audit.count.import"]
        with self.assertRaises(AccessError):
            Import.with_user(self.practitioner).create(
                {"warehouse_id": self.warehouse.id, "import_file": filled}
            )
        other_manager = self.env["res.users"].create(
            {
                "name": "Other manager",
                "login": "audit-other-manager",
                "company_id": self.other_company.id,
                "company_ids": [(6, 0, self.other_company.ids)],
                "groups_id": [(6, 0, [self.env.ref("meso_inventory.group_manager").id])],
            }
        )
        with self.assertRaises(AccessError):
            Import.with_user(other_manager).with_context(
                allowed_company_ids=self.other_company.ids
            ).create(
                {
                    "company_id": self.company.id,
                    "warehouse_id": self.warehouse.id,
                    "import_file": filled,
                }
            )
        # a count sheet of one clinic is not applied to another
        second = self.env["stock.warehouse"].create({"name": "Second clinic", "code": "SEC2"})
        with self.assertRefused(UserError, "exported for another clinic than Second clinic"):
            Import.with_user(self.manager).create(
                {"warehouse_id": second.id, "import_file": filled}
            ).action_import_counts()
        self.assertEqual(self._qty(self.near), 5)
        mine = self._count_import(wizard.with_user(self.manager), filled)
        action = mine.action_import_counts()
        self.assertEqual(self._qty(self.near), 4)
        moves = self.env["stock.move"].search(action["params"]["next"]["domain"])
        # Odoo names an adjustment made by someone else than the superuser after her
        self.assertEqual(
            [(move.name, move.product_qty, move.state) for move in moves],
            [("Stock audit count (Audit-Manager)", 1, "done")],
        )
        self.assertEqual(moves.create_uid, self.manager)
        self.assertEqual(mine.create_uid, self.manager)
        # the wizard holding the file is its author's alone
        colleague = self._create_user("audit-colleague", "meso_inventory.group_manager")
        self.assertFalse(Import.with_user(colleague).search([("id", "=", mine.id)]))
