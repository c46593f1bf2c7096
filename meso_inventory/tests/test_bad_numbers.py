"""Every number the addon lets a user enter, given every kind of bad value, through the
ORM and XML-RPC with a clinic manager's login: a clear ValidationError naming the field,
never a ValueError or OverflowError traceback, and nothing written."""

import math
import xmlrpc.client

from odoo.exceptions import ValidationError
from odoo.tests import HttpCase, tagged

from .common import MesoCommon

BAD = [math.nan, math.inf, -math.inf, 1e308, -1e308, -1.0, 1e7]


@tagged("post_install", "-at_install")
class TestBadNumbers(HttpCase, MesoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vial = cls._create_vial(meso_multi_dose=True, meso_in_use_hours=24)
        cls.patient = cls._create_patient()
        cls.formulation = cls.env["meso.formulation"].create(
            {
                "name": "Face",
                "patient_id": cls.patient.id,
                "line_ids": [
                    (0, 0, {"product_id": cls.vial.product_variant_id.id, "volume_ml": 2})
                ],
            }
        )
        cls.planned = cls._session(cls.patient, [(cls.vial, 2.0)])
        cls.orderpoint = cls.env["stock.warehouse.orderpoint"].create(
            {
                "product_id": cls.vial.product_variant_id.id,
                "warehouse_id": cls.warehouse.id,
                "product_min_qty": 2,
                "product_max_qty": 5,
            }
        )
        cls.manager = cls._create_user("numbers-manager", "meso_inventory.group_manager")
        cls.manager.password = "numbers-pw"
        cls.export = (
            cls.env["meso.audit.export"]
            .with_user(cls.manager)
            .create({"warehouse_id": cls.warehouse.id})
        )
        cls.fields_under_test = [
            (cls.vial, "meso_volume_ml"),
            (cls.vial, "meso_in_use_hours"),
            (cls.vial.meso_composition_ids, "concentration"),
            (cls.formulation.line_ids, "volume_ml"),
            (cls.formulation, "session_count"),
            (cls.formulation, "interval_days"),
            (cls.formulation, "maintenance_interval_days"),
            (cls.planned.line_ids, "volume_ml"),
            (cls.orderpoint, "product_min_qty"),
            (cls.orderpoint, "product_max_qty"),
            (cls.company, "meso_usage_window_days"),
            (cls.company, "meso_safety_days"),
            (cls.company, "meso_review_days"),
            (cls.company, "meso_late_entry_hours"),
            (cls.export, "horizon_days"),
        ]

    def _rpc(self, model, method, *args):
        return self.xmlrpc_object.execute_kw(
            self.env.cr.dbname, self.manager.id, "numbers-pw", model, method, list(args)
        )

    def test_bad_numbers_refused_on_every_field(self):
        for record, name in self.fields_under_test:
            before = record[name]
            label = record._fields[name]._description_string(self.env)
            for value in BAD:
                with self.subTest(model=record._name, field=name, value=value):
                    with self.assertRaises(ValidationError) as refusal:
                        record.with_user(self.manager).write({name: value})
                    if value != -1.0:  # below zero, the models' own messages say so
                        self.assertIn(label, str(refusal.exception))
                    record.invalidate_recordset()
                    self.assertEqual(record[name], before)
                    with self.assertRaises(xmlrpc.client.Fault) as fault:
                        self._rpc(record._name, "write", record.ids, {name: value})
                    self.assertEqual(fault.exception.faultCode, 2, fault.exception.faultString)
                    if value != -1.0:
                        self.assertIn(label, fault.exception.faultString)
                    record.invalidate_recordset()
                    self.assertEqual(record[name], before)

    def test_bad_numbers_refused_on_create(self):
        Session = self.env["meso.treatment.session"]
        count = Session.search_count([])
        for value in (math.nan, math.inf, 1e308):
            with self.assertRaises(ValidationError):
                self._session(self.patient, [(self.vial, value)])
            with self.assertRaises(ValidationError):
                self._create_vial(
                    "NaN vial", volume=2.0, meso_multi_dose=True, meso_in_use_hours=value
                )
            with self.assertRaises(xmlrpc.client.Fault) as fault:
                self._rpc(
                    "meso.treatment.session",
                    "create",
                    {
                        "patient_id": self.patient.id,
                        "warehouse_id": self.warehouse.id,
                        "line_ids": [
                            (
                                0,
                                0,
                                {"product_id": self.vial.product_variant_id.id, "volume_ml": value},
                            )
                        ],
                    },
                )
            self.assertEqual(fault.exception.faultCode, 2, fault.exception.faultString)
            with self.assertRaises(xmlrpc.client.Fault) as fault:
                self._rpc("res.config.settings", "create", {"meso_late_entry_hours": value})
            self.assertEqual(fault.exception.faultCode, 2, fault.exception.faultString)
        self.assertEqual(Session.search_count([]), count)
        self.assertFalse(self.env["product.template"].search([("name", "=", "NaN vial")]))
