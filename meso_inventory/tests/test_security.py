from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import MesoCommon


@tagged("post_install", "-at_install")
class TestSecurity(MesoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vial = cls._create_vial()
        cls.lot = cls._create_lot(cls.vial, "HA-1", 200)
        cls._stock(cls.lot, 10)
        cls.patient = cls._create_patient(allergy_ingredient_ids=[(6, 0, cls.vit_c.ids)])
        cls.formulation = cls.env["meso.formulation"].create(
            {
                "name": "Face",
                "patient_id": cls.patient.id,
                "line_ids": [
                    (0, 0, {"product_id": cls.vial.product_variant_id.id, "volume_ml": 2})
                ],
            }
        )
        cls.session = cls._session(cls.patient, [(cls.vial, 2.0)])
        cls.session.action_done()
        cls.employee = cls._create_user("employee", "stock.group_stock_user")
        cls.practitioner = cls._create_user("practitioner", "meso_inventory.group_practitioner")

    def test_employees_outside_the_groups_read_no_medical_data(self):
        records = [
            self.patient,
            self.formulation,
            self.session,
            self.session.line_ids,
            self.session.consumption_ids,
            self.session.consumption_ids.opened_vial_id or self.env["meso.opened.vial"],
        ]
        for record in records:
            model = self.env[record._name].with_user(self.employee)
            with self.assertRaises(AccessError, msg=record._name):
                model.search([])
            if record:
                with self.assertRaises(AccessError, msg=record._name):
                    model.browse(record.ids).read(["display_name"])
        with self.assertRaises(AccessError):
            self.env["meso.patient"].with_user(self.employee).create({"name": "Intruder"})

    def test_practitioner_treats_but_neither_configures_nor_sees_costs(self):
        patient = self.env["meso.patient"].with_user(self.practitioner)
        self.assertEqual(patient.search([("id", "=", self.patient.id)]), self.patient)
        self.assertEqual(patient.browse(self.patient.id).allergy_ingredient_ids, self.vit_c)
        with self.assertRaises(AccessError):
            patient.browse(self.patient.id).unlink()
        with self.assertRaises(AccessError):
            self.env["meso.ingredient"].with_user(self.practitioner).create({"name": "New"})
        with self.assertRaises(AccessError):
            self.session.consumption_ids.with_user(self.practitioner).read(["cost"])
        with self.assertRaises(AccessError):
            self.env["meso.audit.export"].with_user(self.practitioner).create({})

    def test_practitioner_does_not_see_costs_on_the_vial_form(self):
        def form_arch(user):
            views = self.env["product.template"].with_user(user).get_views([(False, "form")])
            return views["views"]["form"]["arch"]

        self.assertNotIn('name="standard_price"', form_arch(self.practitioner))
        manager = self._create_user("manager", "meso_inventory.group_manager")
        self.assertIn('name="standard_price"', form_arch(manager))
        self.assertIn('name="standard_price"', form_arch(self.employee))

    def test_clinics_of_other_companies_stay_apart(self):
        other = self.env["meso.patient"].create(
            {"name": "Elsewhere", "company_id": self.other_company.id}
        )
        user = self.practitioner
        visible = (
            self.env["meso.patient"]
            .with_user(user)
            .with_context(allowed_company_ids=self.company.ids)
        )
        self.assertFalse(visible.search([("id", "=", other.id)]))
        with self.assertRaises(AccessError):
            visible.browse(other.id).read(["name"])
        with self.assertRaises(UserError):
            self.env["meso.treatment.session"].create(
                {
                    "patient_id": other.id,
                    "company_id": self.company.id,
                    "warehouse_id": self.warehouse.id,
                }
            )

    def test_screening_and_states_are_tracked(self):
        env = self.env(context={"allowed_company_ids": self.company.ids})
        patient = env["meso.patient"].create({"name": "Tracked"})
        self.env.cr.precommit.run()
        patient.is_pregnant = True
        patient.flush_recordset()
        self.env.cr.precommit.run()  # tracking is written when the transaction commits
        tracked = (
            self.env["mail.tracking.value"]
            .search(
                [
                    ("mail_message_id.model", "=", "meso.patient"),
                    ("mail_message_id.res_id", "=", patient.id),
                ]
            )
            .field_id.mapped("name")
        )
        self.assertIn("is_pregnant", tracked)

    def test_absurd_volume_refused(self):
        with self.assertRefused(ValidationError, "more than a session ever injects"):
            self._session(self.patient, [(self.vial, 500.0)])
