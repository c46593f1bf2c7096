from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged

from .common import MesoCommon

NOW = datetime(2026, 3, 2, 9, 0)


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestFormulation(MesoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.booster = cls._create_vial("HA booster 2 ml", volume=2.0)  # HA 15 mg/ml
        cls.cocktail = cls._create_vial(
            "Revitalising cocktail 5 ml",
            volume=5.0,
            meso_composition_ids=[
                (
                    0,
                    0,
                    {
                        "ingredient_id": cls.ha.id,
                        "concentration": 0.5,
                        "concentration_unit": "percent",
                    },
                ),
                (
                    0,
                    0,
                    {
                        "ingredient_id": cls.vit_c.id,
                        "concentration": 200.0,
                        "concentration_unit": "ug_ml",
                    },
                ),
            ],
        )
        cls.patient = cls._create_patient()
        cls.template = cls.env["meso.formulation"].create(
            {
                "name": "Face hydration: HA + vitamin C",
                "is_template": True,
                "treatment_area": "face",
                "goal": "hydration",
                "session_count": 4,
                "interval_days": 14,
                "maintenance_interval_days": 90,
                "line_ids": [
                    (0, 0, {"product_id": cls.booster.product_variant_id.id, "volume_ml": 2.0}),
                    (0, 0, {"product_id": cls.cocktail.product_variant_id.id, "volume_ml": 3.0}),
                ],
            }
        )

    def test_ingredient_profile_sums_across_vials(self):
        profile = {
            ingredient: (round(amount, 6), unit)
            for ingredient, amount, unit in self.template._get_ingredient_profile()
        }
        # HA: 2 ml x 15 mg/ml + 3 ml x 0.5 % (5 mg/ml) = 45 mg; vitamin C: 3 ml x 200 ug/ml
        self.assertEqual(profile, {self.ha: (45.0, "mg"), self.vit_c: (600.0, "µg")})
        self.assertIn("Hyaluronic acid", self.template.ingredient_profile_html)
        self.assertIn("45 mg", self.template.ingredient_profile_html)

    def test_template_copied_into_patient_formulation_then_tailored(self):
        form = Form(self.env["meso.formulation"])
        form.name = "Claire: face hydration"
        form.patient_id = self.patient
        form.template_id = self.template
        self.assertEqual(form.interval_days, 14)
        self.assertEqual(len(form.line_ids), 2)
        with form.line_ids.edit(1) as line:
            line.volume_ml = 4.0
        formulation = form.save()
        self.assertEqual(formulation.line_ids.mapped("volume_ml"), [2.0, 4.0])
        self.assertEqual(self.template.line_ids.mapped("volume_ml"), [2.0, 3.0])
        copy = self.template.action_use_template(self.patient)
        self.assertFalse(copy.is_template)
        self.assertEqual(copy.patient_id, self.patient)
        self.assertEqual(copy.line_ids.product_id, self.template.line_ids.product_id)

    def test_formulation_from_a_template_takes_its_name(self):
        practitioner = self._create_user("practitioner", "meso_inventory.group_practitioner")
        neck = self.template.copy({"name": "Neck: HA", "treatment_area": "neck"})
        form = Form(self.env["meso.formulation"].with_user(practitioner))
        form.patient_id = self.patient
        form.template_id = self.template
        self.assertEqual(form.name, "Face hydration: HA + vitamin C")
        form.template_id = neck  # a protocol's name follows the protocol chosen
        self.assertEqual(form.name, "Neck: HA")
        form.name = "Claire: neck, stronger"
        form.template_id = self.template  # a name of her own stays
        self.assertEqual(form.name, "Claire: neck, stronger")
        formulation = form.save()
        self.assertEqual(formulation.template_id, self.template)
        self.assertEqual(formulation.create_uid, practitioner)

    def test_no_template_tick_box_in_the_patients_formulation(self):
        practitioner = self._create_user("practitioner", "meso_inventory.group_practitioner")
        patient_form = Form(self.patient.with_user(practitioner))
        with patient_form.formulation_ids.new() as formulation:
            self.assertEqual(formulation.patient_id, self.patient)
            self.assertTrue(formulation._get_modifier("is_template", "invisible"))
            formulation.name = "Claire: own mix"
            formulation.template_id = self.template
        patient_form.save()
        self.assertEqual(self.patient.formulation_ids.name, "Claire: own mix")
        self.assertFalse(self.patient.formulation_ids.is_template)
        # a protocol template, without patient, keeps its tick box
        template_form = Form(self.env["meso.formulation"].with_user(practitioner))
        self.assertFalse(template_form._get_modifier("is_template", "invisible"))

    def test_plan_course_then_maintenance(self):
        formulation = self.template.action_use_template(self.patient)
        formulation.course_start_date = NOW + timedelta(days=1)
        action = formulation.action_plan_course()
        sessions = formulation.session_ids.sorted("date")
        self.assertEqual(len(sessions), 5)
        start = NOW + timedelta(days=1)
        self.assertEqual(
            sessions.mapped("date"),
            [start + timedelta(days=d) for d in (0, 14, 28, 42, 132)],
        )
        self.assertEqual(sessions.mapped("is_maintenance"), [False] * 4 + [True])
        self.assertTrue(all(s.state == "planned" for s in sessions))
        self.assertEqual(sessions[0].line_ids.mapped("volume_ml"), [2.0, 3.0])
        self.assertEqual(sessions[0].line_ids.product_id, formulation.line_ids.product_id)
        self.assertEqual(action["views"][0][1], "calendar")
        self.assertEqual(self.patient.next_session_date, start)
        # planning again replaces what is still planned
        formulation.session_count = 3
        formulation.action_plan_course()
        self.assertEqual(len(formulation.session_ids), 4)
        self.assertFalse(sessions.exists())

    def test_plan_course_counts_sessions_already_done(self):
        formulation = self.template.action_use_template(self.patient)
        lot = self._create_lot(self.booster, "HA-1", 200, now=NOW)
        self._stock(lot, 10)
        cocktail_lot = self._create_lot(self.cocktail, "CK-1", 200, now=NOW)
        self._stock(cocktail_lot, 10)
        first = self.env["meso.treatment.session"].create(
            {
                "patient_id": self.patient.id,
                "formulation_id": formulation.id,
                "date": NOW - timedelta(days=14),
            }
        )
        first.action_done()
        formulation.course_start_date = NOW - timedelta(days=30)  # stale: before the done session
        formulation.action_plan_course()
        planned = formulation.session_ids.filtered(lambda s: s.state == "planned").sorted("date")
        self.assertEqual(
            planned.mapped("date"),
            [NOW + timedelta(days=d) for d in (0, 14, 28, 28 + 90)],
        )
        self.assertEqual(planned.mapped("is_maintenance"), [False, False, False, True])

    def test_protocol_ranges(self):
        formulation = self.template.action_use_template(self.patient)
        for field_name, value in (
            ("session_count", 2),
            ("session_count", 7),
            ("interval_days", 6),
            ("interval_days", 15),
            ("maintenance_interval_days", 59),
            ("maintenance_interval_days", 91),
        ):
            with self.assertRefused(ValidationError, "must be between"):
                formulation[field_name] = value
                formulation.flush_recordset()

    def test_formulation_needs_patient_and_positive_volumes(self):
        with self.assertRefused(ValidationError, "needs a patient"):
            self.env["meso.formulation"].create({"name": "Orphan"})
        with self.assertRefused(ValidationError, "greater than zero"):
            self.env["meso.formulation"].create(
                {
                    "name": "Zero",
                    "patient_id": self.patient.id,
                    "line_ids": [
                        (0, 0, {"product_id": self.booster.product_variant_id.id, "volume_ml": 0})
                    ],
                }
            )
        gauze = self.env["product.product"].create({"name": "Gauze"})
        with self.assertRefused(ValidationError, "not a mesotherapy vial"):
            self.env["meso.formulation"].create(
                {
                    "name": "Gauze",
                    "patient_id": self.patient.id,
                    "line_ids": [(0, 0, {"product_id": gauze.id, "volume_ml": 1})],
                }
            )

    def test_template_cannot_be_planned(self):
        with self.assertRefused(UserError, "protocol template has no patient"):
            self.template.action_plan_course()

    def test_session_form_prefills_lines_from_formulation(self):
        formulation = self.template.action_use_template(self.patient)
        form = Form(self.env["meso.treatment.session"])
        form.patient_id = self.patient
        form.formulation_id = formulation
        self.assertEqual(len(form.line_ids), 2)
        session = form.save()
        self.assertEqual(session.line_ids.mapped("volume_ml"), [2.0, 3.0])
        self.assertTrue(session.name.startswith("MS/"))

    def test_patient_summary(self):
        self.patient.write({"birthdate": "1990-06-15", "is_breastfeeding": True})
        self.assertEqual(self.patient.age, 35)
        self.assertEqual(self.patient.contraindication_summary, "breastfeeding")
        formulation = self.template.action_use_template(self.patient)
        formulation.action_plan_course()
        self.assertEqual(self.patient.formulation_count, 1)
        self.assertEqual(self.patient.session_count, 5)
        action = self.patient.action_view_sessions()
        self.assertEqual(
            self.env["meso.treatment.session"].search(action["domain"]), self.patient.session_ids
        )
