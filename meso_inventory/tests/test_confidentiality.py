"""Nothing medical crosses from one clinic's company to another, nor to a colleague who
did not make an export: reads, reports, downloads and error messages, with each user's
own login."""

from datetime import datetime, timedelta

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, tagged

from .common import MesoCommon


@tagged("post_install", "-at_install")
class TestConfidentiality(HttpCase, MesoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vial = cls._create_vial()
        cls.lot = cls._create_lot(cls.vial, "HA-CONF-1", 200)
        cls._stock(cls.lot, 6)
        cls.patient = cls._create_patient("Claire Martin")
        cls.treated = cls._session(cls.patient, [(cls.vial, 2.0)])
        cls.treated.action_done()
        cls.manager = cls._user("conf-manager", "meso_inventory.group_manager", cls.company)
        cls.colleague = cls._user("conf-colleague", "meso_inventory.group_manager", cls.company)
        cls.other_manager = cls._user(
            "conf-other", "meso_inventory.group_manager", cls.other_company
        )
        cls.other_practitioner = cls._user(
            "conf-other-dr", "meso_inventory.group_practitioner", cls.other_company
        )
        cls.other_warehouse = cls.env["stock.warehouse"].search(
            [("company_id", "=", cls.other_company.id)], limit=1
        )

    @classmethod
    def _user(cls, login, group, company):
        return cls.env["res.users"].create(
            {
                "name": login,
                "login": login,
                "password": f"{login}-pw",
                "company_id": company.id,
                "company_ids": [(6, 0, company.ids)],
                "groups_id": [(6, 0, cls.env.ref(group).ids)],
            }
        )

    def _as(self, user, model):
        return (
            self.env[model].with_user(user).with_context(allowed_company_ids=user.company_ids.ids)
        )

    def test_an_export_is_its_makers_alone_and_does_not_linger(self):
        wizard = self._as(self.manager, "meso.audit.export").create(
            {"warehouse_id": self.warehouse.id}
        )
        wizard.action_export()
        url = f"/web/content/meso.audit.export/{wizard.id}/file_data/audit.xlsx?download=true"
        self.authenticate("conf-manager", "conf-manager-pw")
        mine = self.url_open(url)
        self.assertEqual(mine.status_code, 200)
        self.assertTrue(mine.content.startswith(b"PK"))
        for login in ("conf-other", "conf-colleague"):
            self.authenticate(login, f"{login}-pw")
            response = self.url_open(url)
            self.assertNotEqual(response.status_code, 200, login)
            self.assertNotIn(b"Claire", response.content)
            user = self.other_manager if login == "conf-other" else self.colleague
            self.assertFalse(self._as(user, "meso.audit.export").search([("id", "=", wizard.id)]))
            with self.assertRaises(AccessError):
                self._as(user, "meso.audit.export").browse(wizard.id).read(["file_data"])
        # a finished export is removed with its file by Odoo's cleaning of wizards
        attachment = self.env["ir.attachment"].search(
            [
                ("res_model", "=", "meso.audit.export"),
                ("res_id", "=", wizard.id),
                ("res_field", "=", "file_data"),
            ]
        )
        self.assertTrue(attachment)
        self.env.cr.execute(
            "UPDATE meso_audit_export SET write_date = %s WHERE id = %s",
            (datetime.now() - timedelta(hours=1), wizard.id),
        )
        self.env["meso.audit.export"]._transient_vacuum()
        self.assertFalse(wizard.exists())
        self.assertFalse(attachment.exists())

    def test_another_companys_users_read_nothing_of_this_clinic(self):
        self.treated.message_post(body="Claire tolerated it well")
        medical = {
            "meso.patient": self.patient,
            "meso.formulation": self.env["meso.formulation"].create(
                {"name": "Face", "patient_id": self.patient.id}
            ),
            "meso.treatment.session": self.treated,
            "meso.treatment.session.line": self.treated.line_ids,
            "meso.treatment.consumption": self.treated.consumption_ids,
            "meso.ingredient.usage.report": self.env["meso.ingredient.usage.report"].search(
                [("session_id", "=", self.treated.id)]
            ),
        }
        for user in (self.other_manager, self.other_practitioner):
            for model, records in medical.items():
                with self.subTest(user=user.login, model=model):
                    self.assertTrue(records)
                    Model = self._as(user, model)
                    if Model.has_access("read"):  # else the access rights already refuse
                        self.assertFalse(Model.search([("id", "in", records.ids)]))
                    with self.assertRaises(AccessError):
                        Model.browse(records.ids).read(["display_name"])
            messages = self._as(user, "mail.message").search(
                [("model", "=", "meso.treatment.session"), ("res_id", "=", self.treated.id)]
            )
            self.assertFalse(messages, user.login)
            self.assertFalse(
                self._as(user, "mail.message").search([("body", "ilike", "Claire")]), user.login
            )

    def test_the_ingredient_report_stays_in_its_company(self):
        report = self._as(self.other_manager, "meso.ingredient.usage.report")
        self.assertFalse(report.search([]))
        self.assertFalse(report.read_group([], ["amount:sum"], ["patient_id"]))
        mine = self._as(self.manager, "meso.ingredient.usage.report")
        self.assertEqual(mine.search([]).patient_id, self.patient)

    def test_no_message_names_another_companys_patient(self):
        formulation = self.env["meso.formulation"].create(
            {"name": "Face", "patient_id": self.patient.id}
        )
        contact = self.env["res.partner"].create(
            {"name": "Claire Martin", "company_id": self.company.id}
        )
        attempts = [
            (
                "meso.treatment.session",
                {"patient_id": self.patient.id, "warehouse_id": self.other_warehouse.id},
            ),
            (
                "meso.treatment.session",
                {
                    "patient_id": self._as(self.other_practitioner, "meso.patient")
                    .create({"name": "Own patient"})
                    .id,
                    "formulation_id": formulation.id,
                    "warehouse_id": self.other_warehouse.id,
                },
            ),
            ("meso.formulation", {"name": "Copy", "patient_id": self.patient.id}),
            ("meso.patient", {"name": "New", "partner_id": contact.id}),
        ]
        for user in (self.other_practitioner, self.other_manager):
            for model, values in attempts:
                with self.assertRaises(UserError, msg=model) as refusal:
                    self._as(user, model).create(values)
                self.assertNotIn("Claire", str(refusal.exception), model)
                self.assertNotIn("Face", str(refusal.exception), model)
            with self.assertRaises(AccessError) as refusal:
                self._as(user, "meso.treatment.session").browse(self.treated.id).action_done()
            self.assertNotIn("Claire", str(refusal.exception))

    def test_activity_notes_keep_names_as_text(self):
        vendor = self.env["res.partner"].create({"name": "Vendor"})
        vial = self._create_vial(
            "<img src=x onerror=alert(1)>",
            seller_ids=[(0, 0, {"partner_id": vendor.id, "price": 5.0})],
        )
        lot = self._create_lot(vial, "HA-XSS", 200)
        self._stock(lot, 3)
        self.env["stock.warehouse.orderpoint"].create(
            {
                "product_id": vial.product_variant_id.id,
                "warehouse_id": self.warehouse.id,
                "product_min_qty": 3,
                "product_max_qty": 6,
            }
        )
        self.company.meso_purchase_responsible_id = self.manager
        self._session(self._create_patient("Inès"), [(vial, 2.0)]).action_done()
        rfq = self.env["purchase.order"].search([("partner_id", "=", vendor.id)])
        note = rfq.activity_ids.note
        self.assertIn("&lt;img src=x onerror=alert(1)&gt;", note)
        self.assertNotIn("<img", note)
