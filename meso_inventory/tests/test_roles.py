"""The clinic's roles, each with its own login, through the external API (XML-RPC).

Every attack on the clinical record is refused with a clear message (a warning or an
access error, never a traceback) and leaves the database as it was; every role's
legitimate day works without Odoo's Inventory or Purchase administrator rights."""

import base64
import io
import xmlrpc.client
from datetime import datetime, timedelta

from lxml import etree
from openpyxl import load_workbook

from odoo.tests import JsonRpcException, tagged

from .common import MesoRoleCommon

WARNING, ACCESS_ERROR = 2, 4  # the faults of a UserError and an AccessError


@tagged("post_install", "-at_install")
class TestRoles(MesoRoleCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        received = datetime.now() - timedelta(days=30)
        cls.vendor = cls.env["res.partner"].create({"name": "Dermal Supplies"})
        cls.vial = cls._create_vial(
            seller_ids=[(0, 0, {"partner_id": cls.vendor.id, "price": 12.0, "delay": 4})]
        )
        cls.lot = cls._create_lot(cls.vial, "HA-ROLE-1", 200)
        cls._stock(cls.lot, 6, in_date=received)
        cls.multi = cls._create_vial(
            "Multivitamin 10 ml", volume=10.0, meso_multi_dose=True, meso_in_use_hours=24
        )
        cls.multi_lot = cls._create_lot(cls.multi, "MVX-ROLE-1", 200)
        cls._stock(cls.multi_lot, 2, in_date=received)
        cls.env["stock.warehouse.orderpoint"].create(
            {
                "product_id": cls.vial.product_variant_id.id,
                "warehouse_id": cls.warehouse.id,
                "product_min_qty": 5,
                "product_max_qty": 10,
            }
        )
        # the clinic's real setup: stock_sms is installed and would text the picking's
        # partner; delivery e-mails are on too
        cls.company.write({"stock_move_sms_validation": True, "stock_move_email_validation": True})
        contact = cls.env["res.partner"].create(
            {
                "name": "Claire Martin",
                "phone": "+33 6 12 34 56 78",
                "mobile": "+33 6 12 34 56 78",
                "email": "claire.martin@example.com",
                "company_id": cls.company.id,
            }
        )
        cls.patient = cls._create_patient(partner_id=contact.id)
        cls.pregnant = cls._create_patient("Sofia Rossi", is_pregnant=True)
        cls._create_role_logins()
        cls.colleague = cls._login_user("colleague", "meso_inventory.group_practitioner")
        cls.buyer = cls._login_user("buyer", "purchase.group_purchase_user")
        cls.company.meso_purchase_responsible_id = cls.buyer
        # a completed session of the practitioner's, with an opened multi-dose vial
        cls.done = cls._session(
            cls.patient,
            [(cls.vial, 2.0), (cls.multi, 3.0)],
            practitioner_id=cls.practitioner.id,
        )
        cls.done.action_done()
        cls.opened = cls.done.consumption_ids.opened_vial_id

    def _footprint(self):
        """What an attack must not change: stock, the ledger, sessions, vials, pickings."""
        self.env.invalidate_all()
        sessions = self.env["meso.treatment.session"].search([], order="id")
        return {
            "quants": sorted(
                (q.lot_id.id, q.location_id.id, q.quantity)
                for q in self.env["stock.quant"].search([("product_id.meso_is_vial", "=", True)])
            ),
            "ledger": self.env["meso.treatment.consumption"].search_read(
                [], ["session_line_id", "lot_id", "volume_ml", "vial_qty", "returned"], order="id"
            ),
            "sessions": sessions.read(
                ["state", "patient_id", "date", "override_approved_by_id", "late_entry"]
            ),
            "lines": sessions.line_ids.read(["product_id", "volume_ml", "lot_id"]),
            "vials": self.env["meso.opened.vial"].search_read(
                [], ["remaining_ml", "beyond_use_at", "state"], order="id"
            ),
            "pickings": self.env["stock.picking"].search_count([]),
            "lot_dates": self.lot.read(["expiration_date"]),
        }

    def assertRefusedRpc(self, user, model, method, *args, pattern=None, **kwargs):
        before = self._footprint()
        with self.assertRaises(xmlrpc.client.Fault, msg=f"{user.login}: {model}.{method}") as cm:
            self.rpc(user, model, method, *args, **kwargs)
        fault = cm.exception
        self.assertIn(
            fault.faultCode,
            (WARNING, ACCESS_ERROR),
            f"{user.login}: {model}.{method} answered with a traceback:\n{fault.faultString}",
        )
        if pattern:
            self.assertRegex(fault.faultString, pattern)
        self.assertEqual(self._footprint(), before, f"{user.login}: {model}.{method} wrote")
        return fault

    def _planned(self, patient=None, days_ago=0, **values):
        return self._session(
            patient or self.patient,
            [(self.vial, 2.0)],
            date=datetime.now() - timedelta(days=days_ago),
            practitioner_id=self.practitioner.id,
            **values,
        )

    # -- attacks on the clinical record ------------------------------------
    def test_a_completed_session_is_a_closed_record(self):
        done, line = self.done, self.done.line_ids[0]
        other = self._create_patient("Inès Laurent")
        for user in (self.practitioner, self.manager):
            attacks = [
                ("write", [done.id], {"state": "planned"}),
                ("write", [done.id], {"patient_id": other.id}),
                ("write", [done.id], {"date": "2026-01-01 10:00:00"}),
                ("write", [done.id], {"line_ids": [(1, line.id, {"volume_ml": 0.5})]}),
                ("write", [done.id], {"line_ids": [(2, line.id)]}),
                ("write", [done.id], {"picking_id": False}),
                ("unlink", [done.id]),
                ("action_done", [done.id]),
            ]
            for method, *args in attacks:
                self.assertRefusedRpc(user, "meso.treatment.session", method, *args)
            for method, *args in [
                ("write", [line.id], {"volume_ml": 0.5}),
                ("write", [line.id], {"lot_id": False}),
                ("unlink", [line.id]),
                (
                    "create",
                    {"session_id": done.id, "product_id": line.product_id.id, "volume_ml": 1},
                ),
            ]:
                self.assertRefusedRpc(user, "meso.treatment.session.line", method, *args)
        # notes may still be added
        self.rpc(
            self.practitioner,
            "meso.treatment.session",
            "write",
            [done.id],
            {"notes": "<p>No reaction at 24 h.</p>"},
        )
        self.assertIn("No reaction", done.notes)

    def test_the_ledger_and_opened_vials_are_written_by_flows_only(self):
        consumption = self.done.consumption_ids[0]
        vial = self.opened
        self.assertEqual(vial.state, "open")
        for user in (self.practitioner, self.manager):
            for method, *args in [
                (
                    "create",
                    {
                        "session_line_id": self.done.line_ids[0].id,
                        "product_id": self.vial.product_variant_id.id,
                        "lot_id": self.lot.id,
                        "volume_ml": 1,
                    },
                ),
                ("write", [consumption.id], {"volume_ml": 0.1}),
                ("write", [consumption.id], {"lot_id": self.multi_lot.id}),
                ("unlink", [consumption.id]),
            ]:
                self.assertRefusedRpc(user, "meso.treatment.consumption", method, *args)
            for method, *args in [
                ("write", [vial.id], {"remaining_ml": 10.0}),
                ("write", [vial.id], {"beyond_use_at": "2099-01-01 00:00:00"}),
                ("write", [vial.id], {"state": "open"}),
                (
                    "create",
                    {
                        "lot_id": self.multi_lot.id,
                        "beyond_use_at": "2099-01-01 00:00:00",
                        "remaining_ml": 10,
                    },
                ),
                ("unlink", [vial.id]),
            ]:
                self.assertRefusedRpc(user, "meso.opened.vial", method, *args)
        self.assertRefusedRpc(
            self.practitioner,
            "meso.opened.vial",
            "action_discard",
            [vial.id],
            pattern="clinic manager",
        )
        # the manager discards through the dialog, with a reason
        action = self.rpc(self.manager, "meso.opened.vial", "action_discard", [vial.id])
        self.assertEqual(action["res_model"], "meso.opened.vial.discard")
        wizard = self.rpc(
            self.manager,
            "meso.opened.vial.discard",
            "create",
            {"vial_ids": [(6, 0, vial.ids)], "reason": "Seal broken"},
        )
        self.rpc(self.manager, "meso.opened.vial.discard", "action_discard", [wizard])
        vial.invalidate_recordset()
        self.assertEqual((vial.state, vial.remaining_ml, vial.waste_ml), ("discarded", 0.0, 7.0))
        self.assertEqual((vial.discard_reason, vial.discarded_by_id), ("Seal broken", self.manager))
        self.assertRefusedRpc(
            self.manager, "meso.opened.vial", "write", [vial.id], {"state": "open"}
        )

    def test_overrides_are_a_managers_act(self):
        lines = [(0, 0, {"product_id": self.vial.product_variant_id.id, "volume_ml": 2.0})]
        values = {
            "patient_id": self.pregnant.id,
            "warehouse_id": self.warehouse.id,
            "line_ids": lines,
        }
        self.assertRefusedRpc(
            self.practitioner,
            "meso.treatment.session",
            "create",
            dict(values, override_reason="She insists"),
            pattern="clinic manager",
        )
        loaded = self.rpc(
            self.practitioner,
            "meso.treatment.session",
            "load",
            ["patient_id/.id", "warehouse_id/.id", "override_reason"],
            [[str(self.pregnant.id), str(self.warehouse.id), "She insists"]],
        )
        self.assertFalse(loaded["ids"])
        session_id = self.rpc(self.practitioner, "meso.treatment.session", "create", values)
        self.assertRefusedRpc(
            self.practitioner,
            "meso.treatment.session",
            "write",
            [session_id],
            {"override_reason": "Fine"},
        )
        for forged in (
            {"override_approved_by_id": self.manager.id},
            {"state": "done"},
            {"late_entry": True},
        ):
            self.assertRefusedRpc(
                self.practitioner, "meso.treatment.session", "write", [session_id], forged
            )
            self.assertRefusedRpc(
                self.practitioner, "meso.treatment.session", "create", dict(values, **forged)
            )
        self.assertRefusedRpc(
            self.practitioner,
            "meso.treatment.session",
            "action_done",
            [session_id],
            pattern="pregnant",
        )
        # the manager approves: who and when are kept beside the reason, and in the chatter
        self.rpc(
            self.manager,
            "meso.treatment.session",
            "write",
            [session_id],
            {"override_reason": "Obstetrician's letter"},
        )
        session = self.env["meso.treatment.session"].browse(session_id)
        self.assertEqual(session.override_approved_by_id, self.manager)
        self.assertTrue(session.override_approved_at)
        # the approval covers what the manager saw: a vial the patient is allergic to,
        # added afterwards by the practitioner, is refused again
        vial_c = self._create_vial(
            "Vitamin C 5 ml",
            volume=5.0,
            meso_composition_ids=[(0, 0, {"ingredient_id": self.vit_c.id, "concentration": 200.0})],
        )
        self.pregnant.allergy_ingredient_ids = self.vit_c
        line = (0, 0, {"product_id": vial_c.product_variant_id.id, "volume_ml": 1.0})
        self.rpc(
            self.practitioner, "meso.treatment.session", "write", [session_id], {"line_ids": [line]}
        )
        self.assertRefusedRpc(
            self.practitioner,
            "meso.treatment.session",
            "action_done",
            [session_id],
            pattern="approved for other contraindications than these:\n- allergic to Vitamin C",
        )
        self.rpc(
            self.practitioner,
            "meso.treatment.session",
            "write",
            [session_id],
            {
                "line_ids": [
                    (
                        2,
                        session.line_ids.filtered(
                            lambda ln: ln.product_id == vial_c.product_variant_id
                        ).id,
                    )
                ]
            },
        )
        self.rpc(self.practitioner, "meso.treatment.session", "action_done", [session_id])
        self.assertEqual(session.state, "done")
        log = " ".join(session.message_ids.mapped("body"))
        self.assertIn("Obstetrician's letter", log)
        self.assertIn("approved by Manager", log)

    def test_time_cannot_be_bent(self):
        late = self._planned(days_ago=3)
        self.assertRefusedRpc(
            self.practitioner,
            "meso.treatment.session",
            "action_done",
            [late.id],
            pattern="late entry is completed by a clinic manager",
        )
        self.rpc(self.manager, "meso.treatment.session", "action_done", [late.id])
        self.assertEqual((late.state, late.late_entry), ("done", True))
        self.assertIn("Late entry", " ".join(late.message_ids.mapped("body")))
        # a lot is never consumed at a date before it was received
        fresh = self._create_lot(self.vial, "HA-ROLE-NEW", 300)
        self._stock(fresh, 2, in_date=datetime.now())
        before_receipt = self._planned(
            days_ago=0.5,
            line_ids=[
                (
                    0,
                    0,
                    {
                        "product_id": self.vial.product_variant_id.id,
                        "volume_ml": 2.0,
                        "lot_id": fresh.id,
                    },
                )
            ],
        )
        self.assertRefusedRpc(
            self.practitioner,
            "meso.treatment.session",
            "action_done",
            [before_receipt.id],
            pattern="HA-ROLE-NEW .* was received on",
        )
        # a practitioner has no Inventory rights: she cannot move a lot's expiry
        self.assertRefusedRpc(
            self.practitioner,
            "stock.lot",
            "write",
            [self.lot.id],
            {"expiration_date": "2099-01-01 00:00:00"},
        )
        # an Inventory user can, and the lot's chatter keeps who and when
        self.rpc(
            self.stock_user,
            "stock.lot",
            "write",
            [self.lot.id],
            {"expiration_date": "2030-01-01 00:00:00"},
        )
        self.env.invalidate_all()
        tracked = self.env["mail.tracking.value"].search(
            [
                ("mail_message_id.model", "=", "stock.lot"),
                ("mail_message_id.res_id", "=", self.lot.id),
            ]
        )
        self.assertIn("expiration_date", tracked.field_id.mapped("name"))
        self.assertEqual(tracked.mail_message_id.author_id, self.stock_user.partner_id)

    def test_cancellation_rights_and_trace(self):
        # another practitioner's completed session, or one of another day: a manager's
        self.assertRefusedRpc(
            self.colleague, "meso.treatment.session", "action_cancel", [self.done.id]
        )
        yesterday = self._planned(days_ago=1.2)
        yesterday.action_done()
        self.assertRefusedRpc(
            self.practitioner,
            "meso.treatment.session",
            "action_cancel",
            [yesterday.id],
            pattern="only its practitioner, on the same day, or a clinic manager",
        )
        self.rpc(self.manager, "meso.treatment.session", "action_cancel", [yesterday.id])
        # her own session of the day: she cancels it, the vials go back, the trace stays
        self.rpc(self.practitioner, "meso.treatment.session", "action_cancel", [self.done.id])
        self.env.invalidate_all()
        self.assertEqual(self.done.state, "cancelled")
        rows = self.done.consumption_ids
        self.assertTrue(rows)
        self.assertTrue(all(rows.mapped("returned")))
        self.assertEqual(rows.return_picking_id, self.done.return_picking_id)
        self.assertEqual(self.done.return_picking_id.state, "done")
        action = self.rpc(
            self.practitioner, "stock.lot", "action_view_meso_sessions", [self.lot.id]
        )
        listed = self.rpc(
            self.practitioner, "meso.treatment.session", "search_read", action["domain"], ["state"]
        )
        self.assertIn({"id": self.done.id, "state": "cancelled"}, listed)
        self.assertRefusedRpc(self.manager, "meso.treatment.session", "unlink", [self.done.id])
        self.assertRefusedRpc(
            self.manager, "meso.treatment.session", "action_cancel", [self.done.id]
        )

    # -- the legitimate day of each role -------------------------------------
    def test_practitioner_day_without_inventory_rights(self):
        self.assertFalse(self.practitioner.has_group("stock.group_stock_user"))
        self.assertFalse(self.practitioner.has_group("purchase.group_purchase_user"))
        # this session takes the vial below its minimum (6 - 1 - 1 = 4 < 5)
        session_id = self.rpc(
            self.practitioner,
            "meso.treatment.session",
            "create",
            {
                "patient_id": self.patient.id,
                "warehouse_id": self.warehouse.id,
                "line_ids": [
                    (0, 0, {"product_id": self.vial.product_variant_id.id, "volume_ml": 2.0})
                ],
            },
        )
        self.rpc(self.practitioner, "meso.treatment.session", "action_done", [session_id])
        session = self.env["meso.treatment.session"].browse(session_id)
        self.assertEqual(session.state, "done")
        # the patient stays out of stock documents; nobody is texted or mailed
        picking = session.picking_id
        self.assertEqual(picking.state, "done")
        self.assertFalse(picking.partner_id)
        self.assertFalse(picking.move_ids.partner_id)
        self.assertEqual(picking.origin, session.name)
        self.assertEqual(picking.create_uid, self.practitioner)
        self.assertFalse(self.env["sms.sms"].search([("number", "ilike", "612345678")]))
        self.assertFalse(
            self.env["mail.message"].search(
                [
                    ("model", "=", "stock.picking"),
                    ("res_id", "=", picking.id),
                    ("message_type", "!=", "notification"),
                ]
            )
        )
        self.assertFalse(
            self.env["mail.mail"].search([("recipient_ids", "in", self.patient.partner_id.ids)])
        )
        # the RFQ and its alert exist, attributed to her
        rfq = self.env["purchase.order"].search(
            [("partner_id", "=", self.vendor.id), ("state", "=", "draft")]
        )
        self.assertEqual(len(rfq), 1)
        self.assertEqual(rfq.activity_ids.user_id, self.buyer)
        alert = rfq.message_ids.filtered(lambda m: "Reorder alert" in (m.body or ""))
        self.assertEqual(alert.author_id, self.practitioner.partner_id)
        # she opens the lot in the clinic's form, and its recall list
        view = self.env.ref("meso_inventory.stock_lot_view_form_meso_clinic")
        arch = self.rpc(self.practitioner, "stock.lot", "get_views", [(view.id, "form")])["views"][
            "form"
        ]["arch"]
        names = sorted({node.get("name") for node in etree.fromstring(arch).iter("field")})
        lot = self.rpc(self.practitioner, "stock.lot", "read", [self.lot.id], names)[0]
        self.assertEqual(lot["meso_session_count"], 1)
        recall = self.rpc(
            self.practitioner, "stock.lot", "action_view_meso_sessions", [self.lot.id]
        )
        listed = self.rpc(self.practitioner, "meso.treatment.session", "search", recall["domain"])
        self.assertCountEqual(listed, [self.done.id, session_id])
        # the session form she opens reads no stock document
        session_view = self.rpc(
            self.practitioner, "meso.treatment.session", "get_views", [(False, "form")]
        )
        session_names = {
            node.get("name")
            for node in etree.fromstring(session_view["views"]["form"]["arch"]).iter("field")
        } & set(session_view["models"]["meso.treatment.session"]["fields"])
        self.rpc(
            self.practitioner, "meso.treatment.session", "read", [session_id], sorted(session_names)
        )
        self.assertNotIn("picking_id", session_names)
        # the manager's report answers with an access message, not a broken screen
        cost = self.env.ref("meso_inventory.meso_treatment_consumption_server_action_session_cost")
        self.assertRefusedRpc(self.practitioner, "ir.actions.server", "run", [cost.id])
        self.assertEqual(
            self.rpc(self.manager, "ir.actions.server", "run", [cost.id])["res_model"],
            "meso.treatment.consumption",
        )

    def test_the_web_clients_path(self):
        """The same rules through JSON-RPC, as the web client calls them."""
        self.authenticate("role-practitioner", "practitioner-pass")

        def call(route, model, method, args, kwargs=None):
            return self.make_jsonrpc_request(
                route, {"model": model, "method": method, "args": args, "kwargs": kwargs or {}}
            )

        before = self._footprint()
        for method, args, error in [
            ("write", [self.done.ids, {"state": "planned"}], "AccessError"),
            ("write", [self.done.ids, {"date": "2026-01-01 10:00:00"}], "UserError"),
            ("unlink", [self.done.ids], "UserError"),
        ]:
            with self.assertRaises(JsonRpcException) as cm:
                call("/web/dataset/call_kw", "meso.treatment.session", method, args)
            self.assertEqual(str(cm.exception), f"odoo.exceptions.{error}")
        self.assertEqual(self._footprint(), before)
        session = self._planned()
        call("/web/dataset/call_button", "meso.treatment.session", "action_done", [session.ids])
        self.env.invalidate_all()
        self.assertEqual(session.state, "done")
        self.assertFalse(session.picking_id.partner_id)

    def test_manager_exports_the_audit_workbook(self):
        self.assertFalse(self.manager.has_group("stock.group_stock_manager"))
        self.assertFalse(self.manager.has_group("purchase.group_purchase_manager"))
        wizard = self.rpc(
            self.manager, "meso.audit.export", "create", {"warehouse_id": self.warehouse.id}
        )
        self.rpc(self.manager, "meso.audit.export", "action_export", [wizard])
        data = self.rpc(self.manager, "meso.audit.export", "read", [wizard], ["file_data"])[0][
            "file_data"
        ]
        book = load_workbook(io.BytesIO(base64.b64decode(data)), read_only=True)
        self.assertIn("Stock by lot", book.sheetnames)
        rows = list(book["Stock by lot"].iter_rows(values_only=True))
        self.assertIn("HA-ROLE-1", [row[rows[0].index("Lot")] for row in rows[1:]])
        # another company's manager can neither export this clinic nor read its sessions
        self.assertRefusedRpc(
            self.other_manager,
            "meso.audit.export",
            "create",
            {"warehouse_id": self.warehouse.id, "company_id": self.company.id},
        )
        # the manager scraps what waits in quarantine without Inventory administrator rights
        quarantine = self.warehouse.meso_quarantine_location_id
        self.env["stock.quant"]._update_available_quantity(
            self.lot.product_id, quarantine, 1, lot_id=self.lot
        )
        self.assertRefusedRpc(
            self.practitioner, "stock.lot", "action_meso_scrap_quarantine", [self.lot.id]
        )
        self.rpc(self.manager, "stock.lot", "action_meso_scrap_quarantine", [self.lot.id])
        self.assertFalse(self.lot._meso_quarantine_quants())

    def test_other_roles_read_no_medical_data(self):
        session, patient = self.done, self.patient
        for user in (self.stock_user, self.buyer, self.portal, self.other_manager):
            for model, ids in [
                ("meso.patient", patient.ids),
                ("meso.treatment.session", session.ids),
                ("meso.treatment.consumption", session.consumption_ids.ids),
                ("meso.opened.vial", self.opened.ids),
            ]:
                self.assertRefusedRpc(user, model, "read", ids, ["display_name"])
            self.assertRefusedRpc(user, "meso.treatment.session", "action_done", session.ids)
            self.assertRefusedRpc(user, "meso.treatment.session", "action_cancel", session.ids)
        # stock documents name no patient, for those who read them
        picking = self.rpc(
            self.stock_user,
            "stock.picking",
            "read",
            session.picking_id.ids,
            ["partner_id", "origin"],
        )[0]
        self.assertEqual((picking["partner_id"], picking["origin"]), (False, session.name))
        self.assertRefusedRpc(self.portal, "stock.lot", "read", self.lot.ids, ["name"])
