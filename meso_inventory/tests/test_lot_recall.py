import base64
import io
import shutil
import subprocess
import xmlrpc.client
from datetime import datetime, timedelta

from openpyxl import load_workbook

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, tagged

from .common import MesoCommon

NOTICE = {
    "reference": "FSN-2026-014",
    "issuer": "Laboratoires Dermaclair",
    "reason": "Particulate matter found in retained samples",
}


@tagged("post_install", "-at_install")
class TestLotRecall(HttpCase, MesoCommon):
    """A recall across two clinics, each holding the lot, with open multi-dose vials
    and three patients who received it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vendor = cls.env["res.partner"].create({"name": "Laboratoires Dermaclair"})
        cls.vial = cls._create_vial(
            "Vitamin cocktail 5 ml", volume=5.0, meso_multi_dose=True, meso_in_use_hours=24
        )
        cls.product = cls.vial.product_variant_id
        cls.lot = cls._create_lot(cls.vial, "VC-2411", 200)
        cls.north = cls.env["stock.warehouse"].create(
            {"name": "Clinique Nord", "code": "NRD", "company_id": cls.company.id}
        )
        cls._receive(cls.warehouse, 10)
        cls._receive(cls.north, 6)
        cls.manager = cls._create_user("recall-manager", "meso_inventory.group_manager")
        cls.practitioner = cls._create_user(
            "recall-practitioner", "meso_inventory.group_practitioner"
        )
        cls.employee = cls._create_user("recall-employee", "base.group_user")
        for user in (cls.manager, cls.practitioner, cls.employee):
            user.password = f"{user.login}-pw"
        cls.other_manager = cls.env["res.users"].create(
            {
                "name": "Other manager",
                "login": "recall-other-manager",
                "company_id": cls.other_company.id,
                "company_ids": [(6, 0, cls.other_company.ids)],
                "groups_id": [(6, 0, [cls.env.ref("meso_inventory.group_manager").id])],
            }
        )
        cls.patients = [
            cls._create_patient(name) for name in ("Claire Martin", "Hannah Weber", "Sofia Rossi")
        ]
        cls.sessions = [
            # opens a vial in the main clinic (3 ml left), the next session draws from it
            cls._session(cls.patients[0], [(cls.vial, 2.0)], practitioner_id=cls.practitioner.id),
            cls._session(cls.patients[1], [(cls.vial, 2.0)], practitioner_id=cls.practitioner.id),
            # opens a vial in the north clinic
            cls._session(
                cls.patients[2],
                [(cls.vial, 2.0)],
                practitioner_id=cls.manager.id,
                warehouse_id=cls.north.id,
            ),
        ]
        for session in cls.sessions:
            session.action_done()
            # as between two requests: the next session finds the vial this one opened
            cls.env.flush_all()
        cls.open_vials = cls.env["meso.opened.vial"].search([("lot_id", "=", cls.lot.id)])
        # planned with the lot before the notice came
        cls.planned = cls._session(
            cls.patients[0], [(cls.vial, 2.0, cls.lot)], practitioner_id=cls.practitioner.id
        )
        cls.lot.with_user(cls.manager).action_meso_recall(NOTICE)

    @classmethod
    def _receive(cls, warehouse, quantity):
        stock = warehouse.lot_stock_id
        supplier = cls.env.ref("stock.stock_location_suppliers")
        picking = cls.env["stock.picking"].create(
            {
                "picking_type_id": warehouse.in_type_id.id,
                "partner_id": cls.vendor.id,
                "location_id": supplier.id,
                "location_dest_id": stock.id,
                "move_ids": [
                    (
                        0,
                        0,
                        {
                            "name": cls.product.display_name,
                            "product_id": cls.product.id,
                            "product_uom": cls.product.uom_id.id,
                            "product_uom_qty": quantity,
                            "location_id": supplier.id,
                            "location_dest_id": stock.id,
                        },
                    )
                ],
            }
        )
        picking.action_confirm()
        picking.move_ids.move_line_ids.write({"lot_id": cls.lot.id, "quantity": quantity})
        picking.move_ids.picked = True
        picking.button_validate()

    def _rpc(self, user, model, method, *args):
        return self.xmlrpc_object.execute_kw(
            self.env.cr.dbname, user.id, f"{user.login}-pw", model, method, list(args)
        )

    def _quants(self):
        return self.env["stock.quant"].search(
            [("lot_id", "=", self.lot.id), ("location_id.usage", "=", "internal")]
        )

    # ------------------------------------------------------------------
    # The recall
    # ------------------------------------------------------------------
    def test_recall_quarantines_every_clinic_and_discards_open_vials(self):
        self.assertEqual(self.lot.meso_recall_state, "recalled")
        self.assertEqual(self.lot.meso_recall_reference, "FSN-2026-014")
        self.assertEqual(self.lot.meso_recall_issuer, "Laboratoires Dermaclair")
        quarantines = (self.warehouse | self.north).meso_quarantine_location_id
        quants = self._quants().filtered("quantity")
        self.assertEqual(quants.location_id, quarantines)
        by_clinic = {q.location_id: q.quantity for q in quants}
        self.assertEqual(by_clinic[self.warehouse.meso_quarantine_location_id], 9)
        self.assertEqual(by_clinic[self.north.meso_quarantine_location_id], 5)
        transfers = self.env["stock.picking"].search([("origin", "ilike", "FSN-2026-014")])
        self.assertEqual(len(transfers), 2)
        self.assertEqual(set(transfers.mapped("state")), {"done"})
        self.assertEqual(len(self.open_vials), 2)
        self.assertEqual(set(self.open_vials.mapped("state")), {"discarded"})
        self.assertIn("FSN-2026-014", self.open_vials[0].discard_reason)
        self.assertEqual(self.lot.meso_quarantine_qty, 14)

    def test_every_patient_has_a_follow_up_and_purchasing_an_activity(self):
        followup = self.env.ref("meso_inventory.mail_activity_type_recall_followup")
        expected = [self.practitioner, self.practitioner, self.manager]
        for patient, session, user in zip(self.patients, self.sessions, expected, strict=True):
            activity = patient.activity_ids.filtered(lambda a: a.activity_type_id == followup)
            self.assertEqual(len(activity), 1, patient.name)
            self.assertEqual(activity.user_id, user)
            self.assertIn(session.name, str(activity.note))
            self.assertIn("2 ml", str(activity.note))
            self.assertIn("FSN-2026-014", str(activity.note))
        # the practitioner sees her own follow-ups with her own login
        mine = (
            self.env["mail.activity"]
            .with_user(self.practitioner)
            .search(
                [("activity_type_id", "=", followup.id), ("user_id", "=", self.practitioner.id)]
            )
        )
        self.assertEqual(set(mine.mapped("res_id")), {p.id for p in self.patients[:2]})
        return_type = self.env.ref("meso_inventory.mail_activity_type_recall_return")
        self.assertTrue(self.lot.activity_ids.filtered(lambda a: a.activity_type_id == return_type))

    def test_recalled_lot_is_never_reserved(self):
        # vials of the lot that reached a clinic's stock after the recall
        self._stock(self.lot, 3)
        picking = self._delivery(self.vial, 1)
        self.assertEqual(picking.move_ids.quantity, 0)
        self.assertNotEqual(picking.state, "assigned")

    def test_recalled_lot_is_never_consumed(self):
        self._stock(self.lot, 3)
        session = self.planned.with_user(self.practitioner)
        with self.assertRefused(UserError, "VC-2411.*recalled.*FSN-2026-014"):
            session.with_user(self.practitioner).action_done()
        self.assertEqual(session.state, "planned")
        with self.assertRaises(xmlrpc.client.Fault) as fault:
            self._rpc(self.practitioner, "meso.treatment.session", "action_done", session.ids)
        self.assertIn("recalled", fault.exception.faultString)
        self.assertIn("FSN-2026-014", fault.exception.faultString)
        session.invalidate_recordset()
        self.assertEqual(session.state, "planned")
        # nor picked or scanned for a session to come
        line = {"product_id": self.product.id, "volume_ml": 2.0, "lot_id": self.lot.id}
        with self.assertRefused(UserError, "recalled.*FSN-2026-014"):
            self.env["meso.treatment.session"].with_user(self.practitioner).create(
                {
                    "patient_id": self.patients[1].id,
                    "warehouse_id": self.warehouse.id,
                    "line_ids": [(0, 0, line)],
                }
            )
        other = self._session(self.patients[1], [(self.vial, 2.0)])
        with self.assertRaises(xmlrpc.client.Fault) as fault:
            self._rpc(
                self.practitioner,
                "meso.treatment.session.line",
                "write",
                other.line_ids.ids,
                {"lot_id": self.lot.id},
            )
        self.assertIn("FSN-2026-014", fault.exception.faultString)
        # nor by hand, with the lot typed on a consumption
        picking = self._delivery(self.vial, 1)
        picking.move_ids.move_line_ids = [
            (
                0,
                0,
                {
                    "product_id": self.product.id,
                    "lot_id": self.lot.id,
                    "quantity": 1,
                    "location_id": self.stock_location.id,
                    "location_dest_id": self.customer_location.id,
                    "picking_id": picking.id,
                },
            )
        ]
        picking.move_ids.picked = True
        with self.assertRefused(UserError, "recalled.*FSN-2026-014"):
            picking.button_validate()

    def test_a_cancelled_session_gives_back_to_quarantine(self):
        session = self.sessions[2]
        session.with_user(self.manager).action_cancel()
        self.assertEqual(session.state, "cancelled")
        north = self._quants().filtered(lambda q: q.quantity and q.warehouse_id == self.north)
        self.assertEqual(north.location_id, self.north.meso_quarantine_location_id)
        self.assertEqual(sum(north.mapped("quantity")), 6)
        self.assertFalse(self.open_vials.filtered(lambda vial: vial.state == "open"))
        report = self._figures()
        self.assertEqual(report["figures"]["consumed"], 1)
        self.assertEqual(report["figures"]["quarantined"], 15)
        self.assertTrue(report["balanced"])

    def test_recall_and_lift_are_a_managers_acts(self):
        other = self._create_lot(self.vial, "VC-2412", 300)
        for user in (self.practitioner, self.employee):
            with self.assertRaises(AccessError):
                other.with_user(user).action_meso_recall(NOTICE)
            with self.assertRaises(xmlrpc.client.Fault):
                self._rpc(user, "stock.lot", "action_meso_recall", other.ids, NOTICE)
            with self.assertRaises(AccessError):
                self.lot.with_user(user).action_meso_lift_recall()
            with self.assertRaises(xmlrpc.client.Fault):
                self._rpc(user, "stock.lot", "action_meso_lift_recall", self.lot.ids)
        self.assertEqual(other.meso_recall_state, "none")
        for bad in ({}, dict(NOTICE, reason=" "), dict(NOTICE, color="red")):
            with self.assertRefused(UserError, "recall"):
                other.with_user(self.manager).action_meso_recall(bad)
        self.assertEqual(other.meso_recall_state, "none")
        with self.assertRefused(UserError, "already recalled"):
            self.lot.with_user(self.manager).action_meso_recall(NOTICE)
        # the manager lifts it over XML-RPC: the history stays, so does the quarantine
        self._rpc(self.manager, "stock.lot", "action_meso_lift_recall", self.lot.ids)
        self.lot.invalidate_recordset()
        self.assertEqual(self.lot.meso_recall_state, "lifted")
        self.assertEqual(self.lot.meso_recall_reference, "FSN-2026-014")
        self.assertTrue(self.lot.meso_recall_lifted_at)
        self.assertEqual(self.lot.meso_quarantine_qty, 14)
        self.assertIn("lifted", " ".join(self.lot.message_ids.mapped("body")))

    def test_recall_wizard_on_several_lots(self):
        lots = self._create_lot(self.vial, "VC-2501", 300) | self._create_lot(
            self.vial, "VC-2502", 300
        )
        action = lots.with_user(self.manager).action_meso_recall_wizard()
        wizard = (
            self.env["meso.lot.recall"]
            .with_user(self.manager)
            .with_context(**action["context"])
            .create({"reference": "R-2", "issuer": "ANSM", "reason": "Sterility"})
        )
        wizard.action_recall()
        self.assertEqual(set(lots.mapped("meso_recall_state")), {"recalled"})
        self.assertEqual(set(lots.mapped("meso_recall_issuer")), {"ANSM"})

    def test_recall_of_a_shared_vials_lot_reaches_the_managers_clinics(self):
        """A vial shared between companies has lots of no company: the recall still
        quarantines them in every clinic of the manager's companies, not in none."""
        shared = self._create_vial("Shared booster 2 ml", company_id=False, meso_composition_ids=[])
        lot = self.env["stock.lot"].create(
            {
                "name": "SH-2601",
                "product_id": shared.product_variant_id.id,
                "expiration_date": datetime.now() + timedelta(days=300),
            }
        )
        self.assertFalse(lot.company_id)
        self._stock(lot, 4)
        self.env["stock.quant"]._update_available_quantity(
            lot.product_id, self.north.lot_stock_id, 2, lot_id=lot
        )
        lot.with_user(self.manager).action_meso_recall(
            {"reference": "FSN-SHARED", "issuer": "Manufacturer", "reason": "Sterility"}
        )
        quants = self.env["stock.quant"].search([("lot_id", "=", lot.id), ("quantity", ">", 0)])
        self.assertEqual(
            {q.location_id: q.quantity for q in quants},
            {
                self.warehouse.meso_quarantine_location_id: 4,
                self.north.meso_quarantine_location_id: 2,
            },
        )

    # ------------------------------------------------------------------
    # Return to the vendor and the report
    # ------------------------------------------------------------------
    def _figures(self):
        return self.lot.with_user(self.manager)._meso_recall_report_data()

    def test_return_to_vendor_empties_quarantine_and_the_report_adds_up(self):
        report = self._figures()
        self.assertEqual(
            report["figures"],
            {
                "received": 16,
                "consumed": 2,
                "discarded": 0,
                "quarantined": 14,
                "returned": 0,
                "on_hand": 0,
            },
        )
        self.assertTrue(report["balanced"])
        self.assertEqual(len(report["sessions"]), 3)
        self.assertEqual(sum(row["ml"] for row in report["sessions"]), 6)
        self.assertEqual(report["discarded_ml"], 1 + 3)
        with self.assertRaises(AccessError):
            self.lot.with_user(self.practitioner).action_meso_return_to_vendor()
        self.lot.with_user(self.manager).action_meso_return_to_vendor()
        self.assertFalse(self._quants().filtered("quantity"))
        self.assertEqual(self.lot.meso_quarantine_qty, 0)
        returns = self.env["stock.move.line"].search(
            [("lot_id", "=", self.lot.id), ("location_dest_id.usage", "=", "supplier")]
        )
        self.assertEqual(sum(returns.mapped("quantity")), 14)
        self.assertEqual(returns.picking_id.partner_id, self.vendor)
        self.assertEqual(set(returns.picking_id.mapped("state")), {"done"})
        report = self._figures()
        self.assertEqual(report["figures"]["returned"], 14)
        self.assertEqual(report["figures"]["quarantined"], 0)
        self.assertTrue(report["balanced"])

    def test_recall_report_xlsx_adds_up_and_pseudonymises(self):
        self.lot.with_user(self.manager).action_meso_return_to_vendor()

        wizard = (
            self.env["meso.lot.recall.report"]
            .with_user(self.manager)
            .create({"lot_ids": [(6, 0, self.lot.ids)]})
        )
        wizard.action_export_xlsx()
        book = load_workbook(io.BytesIO(base64.b64decode(wizard.file_data)))
        self.assertEqual(book.sheetnames, ["Recall", "Consumption"])
        header, row = list(book["Recall"].iter_rows(values_only=True))[:2]
        values = dict(zip(header, row, strict=True))
        self.assertEqual(values["Lot"], "VC-2411")
        self.assertEqual(values["Received (receipts, counted in)"], 16)
        self.assertEqual(
            values["Consumed in sessions"]
            + values["Discarded (scrapped, counted out)"]
            + values["In quarantine"]
            + values["Returned to the vendor"]
            + values["On hand"],
            values["Received (receipts, counted in)"],
        )
        self.assertEqual(values["Adds up"], "yes")
        sessions = list(book["Consumption"].iter_rows(values_only=True))
        patients = {row[3] for row in sessions[1:4]}
        self.assertEqual(len(patients), 3)
        self.assertTrue(all(p.startswith("PT-") for p in patients))
        self.assertFalse({p.name for p in self.patients} & patients)
        named = (
            self.env["meso.lot.recall.report"]
            .with_user(self.manager)
            .create({"lot_ids": [(6, 0, self.lot.ids)], "named": True})
        )
        named.action_export_xlsx()
        book = load_workbook(io.BytesIO(base64.b64decode(named.file_data)))
        names = {row[3] for row in list(book["Consumption"].iter_rows(values_only=True))[1:4]}
        self.assertEqual(names, {p.name for p in self.patients})

    def test_recall_report_pdf(self):
        wizard = (
            self.env["meso.lot.recall.report"]
            .with_user(self.manager)
            .create({"lot_ids": [(6, 0, self.lot.ids)]})
        )
        action = wizard.action_print_pdf()
        self.assertEqual(action["report_name"], "meso_inventory.report_meso_lot_recall")
        if not shutil.which("wkhtmltopdf"):
            self.skipTest("wkhtmltopdf is not installed")
        pdf, kind = (
            self.env["ir.actions.report"]
            .with_user(self.manager)
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf(
                "meso_inventory.stock_lot_recall_report_action", self.lot.ids, data={"named": False}
            )
        )
        self.assertEqual(kind, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))
        # the text is read from the HTML wkhtmltopdf was given, and from the PDF
        html, _kind = (
            self.env["ir.actions.report"]
            .with_user(self.manager)
            ._render_qweb_html(
                "meso_inventory.stock_lot_recall_report_action", self.lot.ids, data={"named": False}
            )
        )
        self.assertTrue(shutil.which("pdftotext"), "pdftotext (poppler-utils) is missing")
        extracted = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout.decode()
        texts = [html.decode(), extracted]
        for text in texts:
            self.assertIn("VC-2411", text)
            self.assertIn("FSN-2026-014", text)
            self.assertIn("adds up", text)
            self.assertIn("PT-", text)
            self.assertNotIn("Claire Martin", text)

    def test_report_is_for_managers(self):
        with self.assertRaises(AccessError):
            self.env["meso.lot.recall.report"].with_user(self.practitioner).create(
                {"lot_ids": [(6, 0, self.lot.ids)]}
            )

    # ------------------------------------------------------------------
    # Adverse events
    # ------------------------------------------------------------------
    def _event(self, user, session, **values):
        return (
            self.env["meso.adverse.event"]
            .with_user(user)
            .create(
                dict(
                    {
                        "session_id": session.id,
                        "severity": "moderate",
                        "description": "Swelling and redness lasting three days",
                    },
                    **values,
                )
            )
        )

    def test_adverse_events_by_role(self):
        event = self._event(self.practitioner, self.sessions[0])
        self.assertEqual(event.lot_ids, self.lot)
        self.assertEqual(event.company_id, self.company)
        self.assertEqual(event.with_user(self.manager).severity, "moderate")
        self.assertEqual(self.lot.with_user(self.practitioner).meso_adverse_event_ids, event)
        managed = self._event(
            self.manager,
            self.sessions[2],
            severity="serious",
            reported=True,
            authority_ref="ANSM-1",
        )
        self.assertEqual(
            self.env["meso.adverse.event"].with_user(self.manager).search([]), event | managed
        )
        # after a completed session only, and nothing half-written
        with self.assertRefused(UserError, "not completed"):
            self._event(self.practitioner, self.planned)
        self.assertFalse(
            self.env["meso.adverse.event"].search([("session_id", "=", self.planned.id)])
        )
        # another company's manager sees none
        other = self.env["meso.adverse.event"].with_user(self.other_manager)
        self.assertFalse(other.with_context(allowed_company_ids=self.other_company.ids).search([]))
        # a user without a clinic role is refused, over the ORM and XML-RPC
        with self.assertRaises(AccessError):
            self.env["meso.adverse.event"].with_user(self.employee).search([])
        with self.assertRaises(AccessError):
            self._event(self.employee, self.sessions[0])
        with self.assertRaises(xmlrpc.client.Fault):
            self._rpc(self.employee, "meso.adverse.event", "search_read", [])
        rows = self._rpc(self.practitioner, "meso.adverse.event", "search_read", [], ["severity"])
        self.assertEqual({row["severity"] for row in rows}, {"moderate", "serious"})

    def test_events_from_two_patients_alert_the_managers(self):
        alert = self.env.ref("meso_inventory.mail_activity_type_adverse_events")
        self._event(self.practitioner, self.sessions[0])
        self._event(self.practitioner, self.sessions[0], severity="mild")
        self.assertFalse(self.lot.activity_ids.filtered(lambda a: a.activity_type_id == alert))
        self._event(self.practitioner, self.sessions[1])
        activities = self.lot.activity_ids.filtered(lambda a: a.activity_type_id == alert)
        self.assertTrue(activities)
        self.assertIn(self.manager, activities.user_id)
        self._event(self.manager, self.sessions[2])
        self.assertEqual(
            self.lot.activity_ids.filtered(lambda a: a.activity_type_id == alert), activities
        )

    def test_audit_export_holds_adverse_events_only_when_asked(self):
        self._event(self.practitioner, self.sessions[0], treatment="Cold compress")
        for include, expected in ((False, False), (True, True)):
            export = (
                self.env["meso.audit.export"]
                .with_user(self.manager)
                .create(
                    {
                        "warehouse_id": self.warehouse.id,
                        "include_adverse_events": include,
                        "pseudonymise": True,
                    }
                )
            )
            export.action_export()
            book = load_workbook(io.BytesIO(base64.b64decode(export.file_data)))
            self.assertEqual("Adverse events" in book.sheetnames, expected)
            if include:
                rows = list(book["Adverse events"].iter_rows(values_only=True))
                self.assertEqual(len(rows), 2)
                values = dict(zip(rows[0], rows[1], strict=True))
                self.assertEqual(values["Severity"], "Moderate")
                self.assertEqual(values["Lots"], "VC-2411")
                self.assertTrue(values["Patient"].startswith("PT-"))

    # ------------------------------------------------------------------
    # The printed treatment record and the opened vial's label
    # ------------------------------------------------------------------
    def _render(self, user, report, records, pdf=False):
        Report = self.env["ir.actions.report"].with_user(user)
        if pdf:
            return Report.with_context(force_report_rendering=True)._render_qweb_pdf(
                report, records.ids
            )[0]
        return Report._render_qweb_html(report, records.ids)[0].decode()

    def test_treatment_record_per_session_and_for_a_day(self):
        report = "meso_inventory.meso_treatment_session_report_action"
        session = self.sessions[0]
        html = self._render(self.practitioner, report, session)
        for text in (
            session.name,
            "Claire Martin",
            "Clinique Lumière",
            self.practitioner.name,
            "Vitamin cocktail 5 ml",
            "VC-2411",
            "Allergies",
        ):
            self.assertIn(text, html)
        # a day's sessions print together, one page each
        day = self._render(self.manager, report, self.sessions[0] | self.sessions[1])
        self.assertIn(self.sessions[0].name, day)
        self.assertIn(self.sessions[1].name, day)
        self.assertIn("Hannah Weber", day)
        # medical data: no clinic role, no record
        with self.assertRaises(AccessError):
            self._render(self.employee, report, session)
        with self.assertRaises(AccessError):
            self.env["ir.actions.report"].with_user(self.other_manager).with_context(
                allowed_company_ids=self.other_company.ids
            )._render_qweb_html(report, session.ids)
        if shutil.which("wkhtmltopdf"):
            pdf = self._render(self.practitioner, report, session, pdf=True)
            self.assertTrue(pdf.startswith(b"%PDF"))
            # the printed record read back from the PDF (poppler-utils, installed with
            # the browser by scripts/setup.sh)
            self.assertTrue(shutil.which("pdftotext"), "pdftotext (poppler-utils) is missing")
            text = subprocess.run(
                ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
            ).stdout.decode()
            for expected in (session.name, "Claire Martin", "VC-2411", "Allergies"):
                self.assertIn(expected, text)

    def test_opened_vial_label(self):
        vial = self.open_vials[0]
        html = self._render(
            self.practitioner, "meso_inventory.meso_opened_vial_label_report_action", vial
        )
        self.assertIn("VC-2411", html)
        self.assertIn("Use by", html)
        self.assertIn("Vitamin cocktail 5 ml", html)

    def test_views_open_for_each_role(self):
        lot_form = self.env.ref("meso_inventory.stock_lot_view_form_meso_clinic")
        session_form = self.env.ref("meso_inventory.meso_treatment_session_view_form")
        for user in (self.practitioner, self.manager):
            lot = self.lot.with_user(user)
            lot.get_views([(lot_form.id, "form")])
            lot.read(["meso_recall_state", "meso_recall_reference", "meso_adverse_event_count"])
            self.env["meso.treatment.session"].with_user(user).get_views(
                [(session_form.id, "form")]
            )
            self.env["meso.adverse.event"].with_user(user).get_views(
                [(False, "list"), (False, "form")]
            )
        self.lot.with_user(self.manager).get_views(
            [(self.env.ref("stock.view_production_lot_form").id, "form")]
        )
