import base64
from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, HttpCase, tagged

from .common import MesoCommon

NOW = datetime(2026, 3, 2, 9, 0)


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestBadInput(MesoCommon):
    """Every entry point, every kind of bad value: a clear message and nothing written."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vial = cls._create_vial()
        cls.other_vial = cls._create_vial("Vitamin C 5 ml", volume=5.0)
        cls.lot = cls._create_lot(cls.vial, "HA-OK", 200, now=NOW)
        cls._stock(cls.lot, 10)
        cls.expired = cls._create_lot(cls.vial, "HA-EXPIRED", -1, now=NOW)
        cls._stock(cls.expired, 2)
        cls.quarantined = cls._create_lot(cls.vial, "HA-QUARANTINE", -3, now=NOW)
        cls._stock(cls.quarantined, 2)
        cls.warehouse._meso_quarantine_expired()
        cls.foreign_lot = cls._create_lot(cls.other_vial, "VC-1", 200, now=NOW)
        cls.gauze = cls.env["product.template"].create({"name": "Gauze"})
        cls.archived = cls._create_vial("Old booster")
        cls.patient = cls._create_patient()
        cls.foreign_patient = cls.env["meso.patient"].create(
            {"name": "Elsewhere", "company_id": cls.other_company.id}
        )

    def _footprint(self):
        return (
            self.env["meso.treatment.session"].search_count([]),
            self.env["meso.treatment.consumption"].search_count([]),
            self.env["stock.picking"].search_count([]),
            self.env["meso.opened.vial"].search_count([]),
            self.lot.product_qty,
        )

    def _complete(self, lines, **values):
        self._session(self.patient, lines, **values).action_done()

    def test_table_of_bad_inputs(self):
        def archive_then_complete():
            session = self._session(self.patient, [(self.archived, 1.0)])
            self.archived.active = False
            session.action_done()

        cases = [
            (
                "zero volume",
                ValidationError,
                "volume greater than zero",
                lambda: self._session(self.patient, [(self.vial, 0.0)]),
            ),
            (
                "negative volume",
                ValidationError,
                "volume greater than zero",
                lambda: self._session(self.patient, [(self.vial, -2.0)]),
            ),
            (
                "absurd volume",
                ValidationError,
                "more than a session ever injects",
                lambda: self._session(self.patient, [(self.vial, 400.0)]),
            ),
            (
                "not a vial",
                ValidationError,
                "Gauze is not a mesotherapy vial",
                lambda: self._session(self.patient, [(self.gauze, 1.0)]),
            ),
            ("archived vial", UserError, "not an active mesotherapy vial", archive_then_complete),
            (
                "lot of another product",
                UserError,
                "Lot VC-1 is a lot of",
                lambda: self._complete([(self.vial, 2.0, self.foreign_lot)]),
            ),
            (
                "expired lot picked by hand",
                UserError,
                "Lot HA-EXPIRED .*expired on 2026-03-01",
                lambda: self._complete([(self.vial, 2.0, self.expired)]),
            ),
            (
                "quarantined lot picked by hand",
                UserError,
                r"0.0 usable .*\(lot HA-QUARANTINE\)",
                lambda: self._complete(
                    [(self.vial, 2.0, self.quarantined)], date=NOW - timedelta(days=5)
                ),
            ),
            (
                "date far in the future",
                UserError,
                "in the future",
                lambda: self._complete([(self.vial, 2.0)], date=NOW + timedelta(days=400)),
            ),
            (
                "another company's patient",
                UserError,
                "belongs to another company",
                lambda: self._session(self.foreign_patient, [(self.vial, 2.0)]),
            ),
            (
                "zero volume in a formulation",
                ValidationError,
                "volume greater than zero",
                lambda: self.env["meso.formulation"].create(
                    {
                        "name": "F",
                        "patient_id": self.patient.id,
                        "line_ids": [
                            (0, 0, {"product_id": self.vial.product_variant_id.id, "volume_ml": 0})
                        ],
                    }
                ),
            ),
            (
                "protocol out of range",
                ValidationError,
                "must be between",
                lambda: self.env["meso.formulation"].create(
                    {"name": "F", "patient_id": self.patient.id, "interval_days": 30}
                ),
            ),
            (
                "vial without volume",
                ValidationError,
                "volume in ml",
                lambda: self._create_vial("No volume", volume=0),
            ),
            (
                "malformed count file",
                UserError,
                "not a stock audit export",
                lambda: (
                    self.env["meso.audit.count.import"]
                    .create(
                        {
                            "warehouse_id": self.warehouse.id,
                            "import_file": base64.b64encode(b"%PDF-1.4 not a workbook"),
                        }
                    )
                    .action_import_counts()
                ),
            ),
        ]
        refused = 0
        for label, exception, message, call in cases:
            before = self._footprint()
            with self.subTest(label), self.assertRefused(exception, message):
                call()
            self.env.invalidate_all()
            self.assertEqual(self._footprint(), before, label)
            refused += 1
        self.assertEqual(refused, len(cases))

    def test_form_refuses_before_saving(self):
        form = Form(self.env["meso.treatment.session"])
        form.patient_id = self.patient
        with form.line_ids.new() as line:
            line.product_id = self.vial.product_variant_id
            line.volume_ml = 0
        count = self.env["meso.treatment.session"].search_count([])
        with self.assertRefused(ValidationError, "volume greater than zero"):
            form.save()
        self.assertEqual(self.env["meso.treatment.session"].search_count([]), count)


@tagged("post_install", "-at_install")
class TestBadInputApi(HttpCase):
    def test_external_api_gets_clear_messages(self):
        vial = self.env["product.template"].create(
            {"name": "API booster", "meso_is_vial": True, "meso_volume_ml": 2.0}
        )
        patient = self.env["meso.patient"].create({"name": "API patient"})
        db = self.env.cr.dbname
        uid = self.xmlrpc_common.authenticate(db, "admin", "admin", {})
        count = self.env["meso.treatment.session"].search_count([])
        line = {"product_id": vial.product_variant_id.id, "volume_ml": -1}
        cases = [
            ({"patient_id": patient.id, "line_ids": [(0, 0, line)]}, "volume greater than zero"),
            ({"line_ids": []}, "Patient"),
        ]
        for values, message in cases:
            with self.subTest(message), self.assertRaises(Exception) as refusal:
                self.xmlrpc_object.execute_kw(
                    db, uid, "admin", "meso.treatment.session", "create", [values]
                )
            self.assertIn(message, str(refusal.exception))
        self.assertEqual(self.env["meso.treatment.session"].search_count([]), count)
