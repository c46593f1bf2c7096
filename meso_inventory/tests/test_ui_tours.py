from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestUiTours(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.ref("base.user_admin").tour_enabled = False
        vit_c = cls.env["meso.ingredient"].create({"name": "Tour vitamin C", "category": "vitamin"})
        ha = cls.env["meso.ingredient"].create({"name": "Tour hyaluronic acid"})
        cls.vial = cls.env["product.template"].create(
            {
                "name": "Tour HA booster",
                "meso_is_vial": True,
                "meso_volume_ml": 2.0,
                "meso_regulatory_status": "ce",
                "meso_composition_ids": [(0, 0, {"ingredient_id": ha.id, "concentration": 15})],
            }
        )
        cls.lot = cls.env["stock.lot"].create(
            {
                "name": "TOUR-LOT-1",
                "product_id": cls.vial.product_variant_id.id,
                "company_id": cls.env.company.id,
                "expiration_date": "2099-01-01 00:00:00",
            }
        )
        warehouse = cls.env["stock.warehouse"].search(
            [("company_id", "=", cls.env.company.id)], limit=1
        )
        cls.env["stock.quant"]._update_available_quantity(
            cls.lot.product_id, warehouse.lot_stock_id, 5, lot_id=cls.lot
        )
        cls.practitioner = cls.env["res.users"].create(
            {
                "name": "Dr Tour",
                "login": "tour_practitioner",
                "password": "tour_practitioner",
                "email": "tour.practitioner@example.com",
                "tour_enabled": False,
                "groups_id": [(6, 0, [cls.env.ref("meso_inventory.group_practitioner").id])],
            }
        )
        cls.patient = cls.env["meso.patient"].create(
            {"name": "Tour Patient", "allergy_ingredient_ids": [(6, 0, vit_c.ids)]}
        )

    def test_practitioner_day(self):
        self.start_tour("/odoo", "meso_practitioner_tour", login="tour_practitioner", timeout=180)
        session = self.env["meso.treatment.session"].search(
            [("patient_id", "=", self.patient.id), ("state", "=", "done")]
        )
        self.assertEqual(len(session), 1)
        self.assertEqual(session.practitioner_id, self.practitioner)
        self.assertEqual(session.lot_ids, self.lot)
        self.lot.invalidate_recordset(["product_qty"])
        self.assertEqual(self.lot.product_qty, 4)

    def test_practitioner_lands_on_her_day(self):
        now = fields.Datetime.now()
        colleague = self.env["res.users"].create(
            {
                "name": "Dr Colleague",
                "login": "tour_colleague",
                "groups_id": [(6, 0, self.practitioner.groups_id.ids)],
            }
        )
        formulation = self.env["meso.formulation"].create(
            {
                "name": "Day face hydration",
                "patient_id": self.env["meso.patient"].create({"name": "Day Patient"}).id,
                "treatment_area": "face",
                "line_ids": [(0, 0, {"product_id": self.lot.product_id.id, "volume_ml": 2})],
            }
        )
        Session = self.env["meso.treatment.session"]

        def plan(patient, practitioner, date, **values):
            return Session.create(
                dict(
                    {
                        "patient_id": patient.id,
                        "practitioner_id": practitioner.id,
                        "date": date,
                        "line_ids": [
                            (0, 0, {"product_id": self.lot.product_id.id, "volume_ml": 2})
                        ],
                    },
                    **values,
                )
            )

        Patient = self.env["meso.patient"]
        session = Session.create(
            {
                "patient_id": formulation.patient_id.id,
                "formulation_id": formulation.id,
                "practitioner_id": self.practitioner.id,
                "date": now,
            }
        )
        plan(Patient.create({"name": "Day Pregnant", "is_pregnant": True}), self.practitioner, now)
        plan(Patient.create({"name": "Colleague Patient"}), colleague, now)
        plan(
            Patient.create({"name": "Tomorrow Patient"}), self.practitioner, now + timedelta(days=1)
        )
        self.start_tour(
            "/odoo", "meso_practitioner_day_tour", login="tour_practitioner", timeout=180
        )
        self.env.invalidate_all()
        self.assertEqual(session.state, "done")
        self.assertEqual(session.lot_ids, self.lot)

    def test_manager_round(self):
        warehouse = self.env["stock.warehouse"].create({"name": "Tour clinic", "code": "TOUR"})
        near = self.env["stock.lot"].create(
            {
                "name": "TOUR-NEAR",
                "product_id": self.vial.product_variant_id.id,
                "company_id": self.env.company.id,
                "expiration_date": fields.Datetime.now() + timedelta(days=10),
            }
        )
        self.env["stock.quant"]._update_available_quantity(
            near.product_id, warehouse.lot_stock_id, 3, lot_id=near
        )
        exports = self.env["meso.audit.export"].search([])
        self.start_tour("/odoo", "meso_manager_tour", login="admin", timeout=180)
        export = self.env["meso.audit.export"].search([]) - exports
        self.assertEqual(len(export), 1)
        self.assertTrue(export.pseudonymise)
        self.assertTrue(export.file_data)
        self.assertTrue(export.file_name.endswith(".xlsx"))
