import base64
import io
from datetime import date, datetime, timedelta
from xmlrpc.client import Fault

from freezegun import freeze_time
from openpyxl import load_workbook

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, tagged
from odoo.tools.barcode import get_barcode_check_digit

from .common import MesoCommon

NOW = datetime(2026, 3, 2, 9, 0)
GTIN = "05412345100010"  # GTIN-14 of the test vial; its EAN-13 is GTIN[1:]
OTHER_GTIN = "05412345100027"
GS = "\x1d"  # the FNC1 a scanner sends


def udi_code(gtin=GTIN, expiry="271231", lot="LOT-A1", serial=None, sep="#"):
    """A DataMatrix element string: GTIN, expiry, lot (variable length, so followed by
    the separator when anything comes after it) and serial."""
    code = f"01{gtin}17{expiry}10{lot}"
    if serial:
        code += f"{sep}21{serial}"
    return code


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestScanParsing(MesoCommon):
    def test_gtins_of_the_test_are_valid(self):
        for gtin in (GTIN, OTHER_GTIN):
            self.assertEqual(get_barcode_check_digit(gtin), int(gtin[-1]), gtin)

    def test_parse_table(self):
        nomenclature = self.company._meso_gs1_nomenclature()
        self.assertTrue(nomenclature.is_gs1_nomenclature)
        end_2027 = date(2027, 12, 31)
        table = [
            # (what the scanner sends, gtin, expiry, lot, serial)
            (f"01{GTIN}1727123110LOT-A1", GTIN, end_2027, "LOT-A1", None),
            (f"10LOT-A1#01{GTIN}17271231", GTIN, end_2027, "LOT-A1", None),
            (f"10LOT-A1{GS}17271231{GS}01{GTIN}", GTIN, end_2027, "LOT-A1", None),
            (f"17271231{GS}10LOT-A1{GS}01{GTIN}", GTIN, end_2027, "LOT-A1", None),
            (f"{GS}01{GTIN}17271231{GS}10LOT-A1", GTIN, end_2027, "LOT-A1", None),
            (f"]d201{GTIN}17271231 10LOT-A1".replace(" ", ""), GTIN, end_2027, "LOT-A1", None),
            (f"01{GTIN}1727123110LOT-A1#21SN000042", GTIN, end_2027, "LOT-A1", "SN000042"),
            (f"01{GTIN}21SN42Alt0291727123110LOT-A1", GTIN, end_2027, "LOT-A1", "SN42"),
            (f"01{GTIN}21SN42{GS}10LOT-A1", GTIN, None, "LOT-A1", "SN42"),
            (f"01{GTIN}17280200 10L-FEB".replace(" ", ""), GTIN, date(2028, 2, 29), "L-FEB", None),
            (f"01{GTIN}17270200 10L-FEB".replace(" ", ""), GTIN, date(2027, 2, 28), "L-FEB", None),
            (f"01{GTIN}", GTIN, None, None, None),
            (GTIN[1:], GTIN, None, None, None),  # the EAN-13 on the box
            (GTIN, GTIN, None, None, None),  # a GTIN-14 alone
            (f"  01{GTIN}17271231 10LOT-A1 ".replace(" 10", "10"), GTIN, end_2027, "LOT-A1", None),
        ]
        for code, gtin, expiry, lot, serial in table:
            with self.subTest(code=code):
                udi = nomenclature._meso_parse_udi(code)
                self.assertEqual(
                    (udi["gtin"], udi["expiry"], udi["lot"], udi["serial"]),
                    (gtin, expiry, lot, serial),
                )

    def test_parse_refusals(self):
        nomenclature = self.company._meso_gs1_nomenclature()
        bad_check = GTIN[:-1] + str((int(GTIN[-1]) + 1) % 10)
        table = [
            ("", "Nothing was scanned"),
            ("hello world", "hello world"),
            (f"01{GTIN[:9]}", f"01{GTIN[:9]}"),  # truncated GTIN
            (f"01{GTIN}1727", f"01{GTIN}1727"),  # truncated expiry
            (f"01{bad_check}17271231", "no GTIN"),  # wrong check digit
            (f"01{GTIN}17271399", "17271399"),  # no 99th of a month
            ("10LOT-A1#17271231", "no GTIN"),  # a lot but no product
            ("4006381333932", "no GTIN"),  # an EAN-13 with a wrong check digit
            (f"01{GTIN}01{GTIN}", "twice"),
            (f"01{GTIN}17271231{GS}10", "01"),  # an empty lot is no lot: accepted below
        ]
        for code, message in table[:-1]:
            with self.subTest(code=code), self.assertRaisesRegex(UserError, message):
                nomenclature._meso_parse_udi(code)
        self.assertIsNone(nomenclature._meso_parse_udi(table[-1][0])["lot"])

    def test_company_setup_reads_gs1(self):
        default = self.env.ref("barcodes.default_barcode_nomenclature")
        gs1 = self.env.ref("barcodes_gs1_nomenclature.default_gs1_nomenclature")
        self.company.nomenclature_id = default
        own = self.env["barcode.nomenclature"].create({"name": "Own"})
        self.other_company.nomenclature_id = own
        # parsing never depends on it
        self.assertEqual(self.company._meso_gs1_nomenclature(), gs1)
        self.env["res.company"]._meso_setup_gs1_nomenclature()
        self.assertEqual(self.company.nomenclature_id, gs1)
        self.assertEqual(self.other_company.nomenclature_id, own)

    def test_vial_barcode_is_a_gtin(self):
        vial = self._create_vial("GTIN vial", barcode=GTIN[1:])
        self.assertEqual(vial.product_variant_id.barcode, GTIN[1:])
        with self.assertRaisesRegex(ValidationError, "not a GTIN"):
            vial.barcode = "HA15-BOX"
        with self.assertRaisesRegex(ValidationError, "not a GTIN"):
            self._create_vial("Bad GTIN vial", barcode="5412345100013")
        gauze = self.env["product.template"].create({"name": "Gauze", "barcode": "GAUZE-1"})
        self.assertEqual(gauze.barcode, "GAUZE-1")  # not a vial: any barcode
        self.assertFalse(vial.meso_udi_register)
        vial.meso_device_class = "iii"
        self.assertTrue(vial.meso_udi_register)
        vial.meso_udi_register = False  # a manager's choice stays
        self.assertFalse(vial.meso_udi_register)


class ScanCommon(MesoCommon):
    def _refused(self, call, code, pattern):
        """A refused scan, called without the savepoint of assertRaises: what it wrote
        before refusing would stay and show."""
        try:
            call(code)
        except UserError as error:
            self.assertRegex(str(error), pattern)
        else:
            self.fail(f"{code} was not refused")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vial = cls._create_vial(
            "HA skin booster 2 ml", barcode=GTIN[1:], meso_device_class="iii"
        )
        cls.product = cls.vial.product_variant_id
        cls.other_vial = cls._create_vial("Vitamin C 5 ml", volume=5.0, barcode=OTHER_GTIN)
        cls.other_vial.meso_composition_ids = [
            (5, 0, 0),
            (0, 0, {"ingredient_id": cls.vit_c.id, "concentration": 20.0}),
        ]
        cls.gauze = cls.env["product.template"].create(
            {"name": "Gauze", "is_storable": True, "barcode": "5412345100034"}
        )
        cls.manager = cls._create_user("scan-manager", "meso_inventory.group_manager")
        cls.practitioner = cls._create_user(
            "scan-practitioner", "meso_inventory.group_practitioner"
        )


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestScanReceipt(ScanCommon):
    def _receipt(self, user=None):
        action = (
            self.env["stock.picking"]
            .with_user(user or self.manager)
            .with_company(self.company)
            .action_meso_receive_by_scanning()
        )
        receipt = self.env["stock.picking"].browse(action["res_id"])
        self.assertEqual(receipt.picking_type_id, self.warehouse.in_type_id)
        return receipt.with_user(user or self.manager)

    def _written(self, receipt):
        lots = self.env["stock.lot"].search([("product_id", "in", self.product.ids)])
        return (
            sorted(lots.mapped(lambda lot: (lot.name, lot.expiration_date))),
            sorted(receipt.move_line_ids.mapped(lambda ml: (ml.lot_id.name, ml.quantity))),
            sorted(
                receipt.move_ids.mapped(lambda m: (m.product_id.id, m.quantity, m.product_uom_qty))
            ),
        )

    def test_each_scan_adds_one_vial_grouped_by_lot(self):
        receipt = self._receipt()
        for code in (
            udi_code(lot="LOT-A1", serial="S1"),
            udi_code(lot="LOT-A1", serial="S2"),
            udi_code(lot="LOT-B2", expiry="280600"),
        ):
            self.assertIs(receipt.scan_vial(code), True)
        self.assertEqual(len(receipt.move_ids), 1)
        self.assertEqual(receipt.move_ids.quantity, 3)
        self.assertEqual(receipt.state, "assigned")
        lines = {ml.lot_id.name: ml.quantity for ml in receipt.move_line_ids}
        self.assertEqual(lines, {"LOT-A1": 2, "LOT-B2": 1})
        lot_b = receipt.move_line_ids.lot_id.filtered(lambda lot: lot.name == "LOT-B2")
        self.assertEqual(lot_b.expiration_date, datetime(2028, 6, 30))
        self.assertEqual(lot_b.company_id, self.company)
        receipt.button_validate()
        self.assertEqual(receipt.state, "done")
        self.assertEqual(self.product.with_context(warehouse_id=self.warehouse.id).qty_available, 3)

    def test_an_existing_lot_is_found_and_the_reservation_replaced(self):
        lot = self._create_lot(self.vial, "LOT-OLD", 0, now=datetime(2027, 12, 31))
        receipt = self.env["stock.picking"].create(
            self.env["stock.picking"]._meso_prepare_scan_receipt_values(self.warehouse)
            | {
                "move_ids": [
                    (
                        0,
                        0,
                        {
                            "name": "HA",
                            "product_id": self.product.id,
                            "product_uom": self.product.uom_id.id,
                            "product_uom_qty": 5,
                            "location_id": self.env.ref("stock.stock_location_suppliers").id,
                            "location_dest_id": self.stock_location.id,
                        },
                    )
                ]
            }
        )
        receipt.action_confirm()
        self.assertEqual(receipt.move_line_ids.mapped("lot_id"), self.env["stock.lot"])
        receipt.with_user(self.manager).scan_vial(udi_code(lot="LOT-OLD"))
        self.assertEqual(receipt.move_line_ids.lot_id, lot)
        self.assertEqual(receipt.move_line_ids.quantity, 1)
        self.assertEqual(receipt.move_ids.product_uom_qty, 5)  # what was ordered stays
        self.assertEqual(self.env["stock.lot"].search_count([("name", "=", "LOT-OLD")]), 1)

    def test_refusals_name_the_code_and_write_nothing(self):
        lot = self._create_lot(self.vial, "LOT-KNOWN", 0, now=datetime(2027, 12, 31))
        receipt = self._receipt()
        receipt.scan_vial(udi_code(lot="LOT-A1"))
        before = self._written(receipt)
        table = [
            (udi_code(gtin="05412345100041"), "No product has the GTIN 05412345100041"),
            (udi_code(gtin="05412345100034"), r"Gauze \(scanned: .*\) is not an active"),
            (udi_code(expiry="260301"), "expired on 2026-03-01"),
            (udi_code(expiry="260302"), "expired on 2026-03-02"),
            ("01054123451", "01054123451"),
            ("not a barcode", "not a barcode"),
            (GTIN[1:], "carries no lot"),
            (f"01{GTIN}10LOT-NEW", "carries no expiry"),
            (udi_code(lot=lot.name, expiry="280101"), "expires on 2027-12-31.*2028-01-01"),
        ]
        for code, message in table:
            with self.subTest(code=code):
                self._refused(receipt.scan_vial, code, message)
                self.assertEqual(self._written(receipt), before)

    def test_only_open_receipts_and_inventory_users(self):
        receipt = self._receipt()
        with self.assertRefused(AccessError, "not allowed"):
            receipt.with_user(self.practitioner).scan_vial(udi_code())
        delivery = self._delivery(self.gauze, 1)
        with self.assertRefused(UserError, "not a receipt in progress"):
            delivery.with_user(self.manager).scan_vial(udi_code())
        receipt.action_cancel()
        with self.assertRefused(UserError, "not a receipt in progress"):
            receipt.scan_vial(udi_code())


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestScanSession(ScanCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.lot = cls._create_lot(cls.vial, "LOT-A1", 0, now=datetime(2027, 12, 31))
        cls._stock(cls.lot, 5)
        cls.other_lot = cls._create_lot(cls.vial, "LOT-B2", 0, now=datetime(2028, 6, 30))
        cls._stock(cls.other_lot, 5)
        cls.patient = cls._create_patient("Claire Martin")

    def _planned(self, lines=None, patient=None):
        session = self._session(
            patient or self.patient,
            [(self.vial, 2.0)] if lines is None else lines,
            practitioner_id=self.practitioner.id,
        )
        return session.with_user(self.practitioner)

    def _written(self, session):
        return sorted(
            session.line_ids.mapped(
                lambda ln: (
                    ln.product_id.id,
                    ln.volume_ml,
                    ln.lot_id.id,
                    ln.udi_gtin,
                    ln.udi_serial,
                )
            )
        )

    def test_scan_fills_the_line_and_the_ledger_keeps_the_udi(self):
        session = self._planned()
        self.assertIs(session.scan_vial(udi_code(serial="SN-0001")), True)
        line = session.line_ids
        self.assertEqual(len(line), 1)
        self.assertEqual(line.lot_id, self.lot)
        self.assertEqual(
            (line.udi_gtin, line.udi_lot, line.udi_serial, line.udi_expiry),
            (GTIN, "LOT-A1", "SN-0001", date(2027, 12, 31)),
        )
        session.action_done()
        row = session.consumption_ids
        self.assertEqual(row.lot_id, self.lot)
        self.assertEqual(
            (row.udi_gtin, row.udi_serial, row.udi_expiry, row.udi_scanned, row.udi_register),
            (GTIN, "SN-0001", date(2027, 12, 31), True, True),
        )
        patient = self.patient.with_user(self.practitioner)
        self.assertEqual(patient.udi_register_ids, row)
        action = patient.action_view_udi_register()
        self.assertEqual(self.env[action["res_model"]].search(action["domain"]), row)

    def test_a_second_vial_adds_a_line_and_a_gtin_alone_names_the_product(self):
        session = self._planned()
        session.scan_vial(udi_code())
        session.scan_vial(udi_code(lot="LOT-B2", expiry="280630"))
        self.assertEqual(session.line_ids.lot_id, self.lot | self.other_lot)
        self.assertEqual(session.line_ids[1].volume_ml, 2.0)
        session.scan_vial(f"01{OTHER_GTIN}")  # a product without its line yet
        added = session.line_ids.filtered(
            lambda ln: ln.product_id == self.other_vial.product_variant_id
        )
        self.assertEqual(
            (added.volume_ml, added.lot_id, added.udi_gtin),
            (5.0, self.env["stock.lot"], OTHER_GTIN),
        )

    def test_unscanned_rows_keep_the_product_gtin_and_a_changed_lot_drops_the_scan(self):
        session = self._planned([(self.vial, 2.0), (self.vial, 2.0)])
        session.scan_vial(udi_code(serial="SN-1"))
        first, second = session.line_ids
        first.lot_id = self.other_lot  # the practitioner took another vial after all
        self.assertFalse(first.udi_gtin or first.udi_serial)
        session.action_done()
        for row in session.consumption_ids:
            self.assertEqual((row.udi_gtin, row.udi_scanned, row.udi_serial), (GTIN, False, False))
        self.assertEqual(second.consumption_ids.udi_expiry, date(2027, 12, 31))

    def test_refusals_name_the_code_and_write_nothing(self):
        expired = self._create_lot(self.vial, "LOT-OLD", -1, now=NOW)
        self._stock(expired, 1)
        quarantined = self._create_lot(self.vial, "LOT-Q", 0, now=datetime(2028, 1, 31))
        self.env["stock.quant"]._update_available_quantity(
            self.product, self.warehouse.meso_quarantine_location_id, 1, lot_id=quarantined
        )
        unapproved = self._create_vial(
            "Unapproved booster", barcode="5412345100058", meso_regulatory_status="none"
        )
        self._create_lot(unapproved, "LOT-U", 0, now=datetime(2028, 1, 31))
        allergic = self._create_patient("Allergic", allergy_ingredient_ids=[(6, 0, self.ha.ids)])
        session = self._planned()
        allergic_session = self._planned(patient=allergic)
        table = [
            (session, udi_code(lot="LOT-OLD", expiry="260301"), "LOT-OLD .*expired on 2026-03-01"),
            (session, udi_code(lot="LOT-Q", expiry="280131"), "LOT-Q .*is in quarantine"),
            (session, udi_code(expiry="280101"), "expires on 2027-12-31.*2028-01-01"),
            (session, udi_code(lot="LOT-NEVER"), "LOT-NEVER .*never received"),
            (session, f"01{'05412345100058'}17280131 10LOT-U".replace(" ", ""), "not approved"),
            (allergic_session, udi_code(), "allergic to Hyaluronic acid"),
            (session, udi_code(gtin="05412345100041"), "No product has the GTIN"),
            (session, udi_code(gtin="05412345100034"), "is not an active"),
            (session, "garbage", "garbage"),
        ]
        for target, code, message in table:
            before = self._written(target)
            with self.subTest(code=code):
                self._refused(target.scan_vial, code, message)
                self.assertEqual(self._written(target), before)
        # the lot is created at the receipt, never at the session
        self.assertFalse(self.env["stock.lot"].search([("name", "=", "LOT-NEVER")]))

    def test_a_lot_of_another_company(self):
        shared = self._create_vial(
            "Shared booster", barcode="5412345100065", company_id=False, meso_composition_ids=[]
        )
        self.env["stock.lot"].create(
            {
                "name": "LOT-OTHER",
                "product_id": shared.product_variant_id.id,
                "company_id": self.other_company.id,
                "expiration_date": datetime(2028, 1, 31),
            }
        )
        session = self._session(self.patient, [(shared, 1.0)]).with_context(
            allowed_company_ids=[self.company.id, self.other_company.id]
        )
        with self.assertRefused(UserError, "LOT-OTHER .*belongs to Other Clinic"):
            session.scan_vial("01054123451000651728013110LOT-OTHER")
        self.assertFalse(session.line_ids.lot_id)

    def test_an_approved_override_lets_the_scan_through(self):
        allergic = self._create_patient("Allergic", allergy_ingredient_ids=[(6, 0, self.ha.ids)])
        session = self._session(allergic, [(self.vial, 2.0)])
        session.with_user(self.manager).override_reason = "Patch test negative"
        session.with_user(self.practitioner).scan_vial(udi_code())
        self.assertEqual(session.line_ids.lot_id, self.lot)

    def test_the_udi_register_sheet_of_the_audit_workbook(self):
        session = self._planned()
        session.scan_vial(udi_code(serial="SN-0001"))
        session.action_done()
        unregistered = self._session(self.patient, [(self.other_vial, 5.0)])
        self._stock(self._create_lot(self.other_vial, "VC-1", 300, now=NOW), 2)
        unregistered.action_done()
        for pseudonymise in (False, True):
            wizard = (
                self.env["meso.audit.export"]
                .with_user(self.manager)
                .create({"warehouse_id": self.warehouse.id, "pseudonymise": pseudonymise})
            )
            wizard.action_export()
            book = load_workbook(io.BytesIO(base64.b64decode(wizard.file_data)))
            rows = [
                list(row)
                for row in book["UDI register"].iter_rows(min_row=1, values_only=True)
                if row[0] != "Total"
            ]
            self.assertEqual(
                rows[0],
                [
                    "Date",
                    "Session",
                    "Patient",
                    "Practitioner",
                    "Product",
                    "GTIN",
                    "Lot",
                    "Serial number",
                    "Expiry",
                    "Scanned",
                ],
            )
            self.assertEqual(len(rows), 2)  # the vitamin C vial is not in the register
            row = rows[1]
            self.assertEqual(
                row[3:8] + [row[8].date(), row[9]],
                [
                    "Scan-Practitioner",
                    "HA skin booster 2 ml",
                    GTIN,
                    "LOT-A1",
                    "SN-0001",
                    date(2027, 12, 31),
                    "yes",
                ],
            )
            if pseudonymise:
                self.assertRegex(row[2], r"^PT-[0-9A-F]{10}$")
                self.assertRegex(row[1], r"^SE-[0-9A-F]{10}$")
            else:
                self.assertEqual(row[1:3], [session.name, "Claire Martin"])

    def test_a_closed_session_is_not_scanned(self):
        session = self._planned()
        session.action_done()
        with self.assertRefused(UserError, "can no longer change"):
            session.scan_vial(udi_code())


@tagged("post_install", "-at_install")
class TestScanExternalApi(HttpCase):
    """The scanner integration of a clinic: XML-RPC, with `#` for the FNC1 (XML cannot
    carry ASCII 29), with the practitioner's and the manager's own logins."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ha = cls.env["meso.ingredient"].create({"name": "API hyaluronic acid"})
        cls.vial = cls.env["product.template"].create(
            {
                "name": "API HA booster",
                "meso_is_vial": True,
                "meso_volume_ml": 2.0,
                "meso_regulatory_status": "ce",
                "meso_device_class": "iii",
                "barcode": GTIN[1:],
                "meso_composition_ids": [(0, 0, {"ingredient_id": ha.id, "concentration": 15})],
            }
        )
        cls.warehouse = cls.env["stock.warehouse"].search(
            [("company_id", "=", cls.env.company.id)], limit=1
        )
        groups = {
            "api_practitioner": "meso_inventory.group_practitioner",
            "api_manager": "meso_inventory.group_manager",
        }
        cls.users = {
            login: cls.env["res.users"].create(
                {
                    "name": login,
                    "login": login,
                    "password": login,
                    "groups_id": [(6, 0, [cls.env.ref(group).id])],
                }
            )
            for login, group in groups.items()
        }
        cls.patient = cls.env["meso.patient"].create({"name": "API Patient"})

    def _call(self, login, model, method, *args):
        db = self.env.cr.dbname
        uid = self.xmlrpc_common.authenticate(db, login, login, {})
        return self.xmlrpc_object.execute_kw(db, uid, login, model, method, list(args))

    def test_receive_then_treat_over_xmlrpc(self):
        expiry = (datetime.now() + timedelta(days=400)).strftime("%y%m%d")
        action = self._call("api_manager", "stock.picking", "action_meso_receive_by_scanning")
        receipt = self.env["stock.picking"].browse(action["res_id"])
        self.assertEqual(receipt.picking_type_code, "incoming")
        code = f"01{GTIN}17{expiry}10API-LOT-1#21SN-9"
        for _index in range(2):
            self.assertIs(
                self._call("api_manager", "stock.picking", "scan_vial", [receipt.id], code), True
            )
        with self.assertRaisesRegex(Fault, "No product has the GTIN"):
            self._call(
                "api_manager", "stock.picking", "scan_vial", [receipt.id], "0105412345100041"
            )
        self.env.invalidate_all()
        lot = receipt.move_line_ids.lot_id
        self.assertEqual((lot.name, receipt.move_line_ids.quantity), ("API-LOT-1", 2))
        receipt.button_validate()
        session = self.env["meso.treatment.session"].create(
            {
                "patient_id": self.patient.id,
                "warehouse_id": self.warehouse.id,
                "practitioner_id": self.users["api_practitioner"].id,
            }
        )
        self.assertIs(
            self._call(
                "api_practitioner", "meso.treatment.session", "scan_vial", [session.id], code
            ),
            True,
        )
        self.env.invalidate_all()
        self.assertEqual(session.line_ids.lot_id, lot)
        self.assertEqual(session.line_ids.udi_serial, "SN-9")
        with self.assertRaisesRegex(Fault, "never received"):
            self._call(
                "api_practitioner",
                "meso.treatment.session",
                "scan_vial",
                [session.id],
                f"01{GTIN}17{expiry}10API-LOT-NEW",
            )
        with self.assertRaisesRegex(Fault, "AccessError|not allowed|access"):
            self._call("api_practitioner", "stock.picking", "scan_vial", [receipt.id], code)
        self._call("api_practitioner", "meso.treatment.session", "action_done", [session.id])
        self.env.invalidate_all()
        self.assertEqual(session.consumption_ids.udi_serial, "SN-9")
        self.assertEqual(self.patient.udi_register_ids, session.consumption_ids)


@tagged("post_install", "-at_install")
class TestScanTour(HttpCase):
    def test_scan_at_the_chair(self):
        ha = self.env["meso.ingredient"].create({"name": "Scan tour HA"})
        vial = self.env["product.template"].create(
            {
                "name": "Scan tour booster",
                "meso_is_vial": True,
                "meso_volume_ml": 2.0,
                "meso_regulatory_status": "ce",
                "barcode": "05412345100072",
                "meso_composition_ids": [(0, 0, {"ingredient_id": ha.id, "concentration": 15})],
            }
        )
        lot = self.env["stock.lot"].create(
            {
                "name": "TOUR-SCAN-1",
                "product_id": vial.product_variant_id.id,
                "company_id": self.env.company.id,
                "expiration_date": "2029-12-31 00:00:00",
            }
        )
        practitioner = self.env["res.users"].create(
            {
                "name": "Dr Scan",
                "login": "scan_practitioner",
                "password": "scan_practitioner",
                "tour_enabled": False,
                "groups_id": [(6, 0, [self.env.ref("meso_inventory.group_practitioner").id])],
            }
        )
        patient = self.env["meso.patient"].create({"name": "Scan Patient"})
        session = self.env["meso.treatment.session"].create(
            {
                "patient_id": patient.id,
                "practitioner_id": practitioner.id,
                "line_ids": [(0, 0, {"product_id": vial.product_variant_id.id, "volume_ml": 2.0})],
            }
        )
        # the web client turns the scanner's Alt029 into the FNC1 with the GS1 nomenclature
        self.assertTrue(self.env.company.nomenclature_id.is_gs1_nomenclature)
        self.start_tour(
            f"/odoo/action-meso_inventory.meso_treatment_session_action/{session.id}",
            "meso_scan_tour",
            login="scan_practitioner",
            timeout=120,
        )
        self.env.invalidate_all()
        self.assertEqual(session.line_ids.lot_id, lot)
        self.assertEqual(session.line_ids.udi_serial, "SN-7")
        self.assertEqual(session.line_ids.udi_expiry, date(2029, 12, 31))


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestScanRecalled(ScanCommon):
    """A recalled lot is refused at the chair and at the receipt, naming the notice."""

    def test_a_recalled_lot_is_not_scanned(self):
        lot = self._create_lot(self.vial, "LOT-R", 0, now=datetime(2028, 1, 31))
        self._stock(lot, 3)
        lot.with_user(self.manager).action_meso_recall(
            {"reference": "FSN-2026-07", "issuer": "Manufacturer", "reason": "sterility"}
        )
        session = self._session(
            self._create_patient("Recall patient"), [], practitioner_id=self.practitioner.id
        ).with_user(self.practitioner)
        with self.assertRaisesRegex(UserError, "LOT-R .*recalled .*FSN-2026-07"):
            session.scan_vial(udi_code(lot="LOT-R", expiry="280131"))
        self.assertFalse(session.line_ids)
        action = (
            self.env["stock.picking"]
            .with_user(self.manager)
            .with_company(self.company)
            .action_meso_receive_by_scanning()
        )
        receipt = self.env["stock.picking"].browse(action["res_id"]).with_user(self.manager)
        with self.assertRaisesRegex(UserError, "LOT-R .*recalled .*FSN-2026-07"):
            receipt.scan_vial(udi_code(lot="LOT-R", expiry="280131"))
        self.assertFalse(receipt.move_ids.move_line_ids.filtered(lambda ml: ml.lot_id == lot))
