"""Preparing the day: the sealed vials of a planned session reserved ahead (Prepare), taken
by Complete, given back whenever the session or its lots change, and never leaving the
stock but through the session's completion. Each role with its own login."""

import xmlrpc.client
from datetime import datetime, timedelta

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import MesoRoleCommon

WARNING, ACCESS_ERROR = 2, 4  # the faults of a UserError and an AccessError
NOTICE = {
    "reference": "FSN-2026-031",
    "issuer": "Laboratoires Dermaclair",
    "reason": "Sterility not assured",
}


@tagged("post_install", "-at_install")
class TestPrepare(MesoRoleCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vial = cls._create_vial()
        # FEFO: the early lot's one vial is the first reserved
        cls.early = cls._create_lot(cls.vial, "HA-EARLY", 40)
        cls.late = cls._create_lot(cls.vial, "HA-LATE", 300)
        cls._stock(cls.early, 1)
        cls._stock(cls.late, 6)
        cls.multi = cls._create_vial(
            "Multivitamin 10 ml", volume=10.0, meso_multi_dose=True, meso_in_use_hours=24
        )
        cls.multi_lot = cls._create_lot(cls.multi, "MVX-PREP", 200)
        cls._stock(cls.multi_lot, 3)
        cls.patient = cls._create_patient()
        cls._create_role_logins("prep-")

    def _planned(self, lines=None, **values):
        return self._session(
            self.patient,
            lines or [(self.vial, 2.0)],
            **dict({"date": datetime.now(), "practitioner_id": self.practitioner.id}, **values),
        )

    def _reserved(self, lot):
        self.env.invalidate_all()
        return sum(
            self.env["stock.quant"]
            .search([("lot_id", "=", lot.id), ("location_id", "=", self.stock_location.id)])
            .mapped("reserved_quantity")
        )

    def _messages(self, session):
        return " ".join(session.message_ids.mapped("body"))

    def test_prepare_reserves_the_tray_and_complete_takes_it(self):
        session = self._planned([(self.vial, 2.0), (self.multi, 3.0)])
        self.rpc(self.practitioner, "meso.treatment.session", "action_meso_prepare", [session.id])
        self.env.invalidate_all()
        self.assertTrue(session.meso_prepared)
        picking = session.picking_id
        self.assertEqual(picking.state, "assigned")
        # the single-dose vial only, FEFO: the multi-dose one is drawn at the chair
        self.assertEqual(picking.move_ids.product_id, self.vial.product_variant_id)
        self.assertEqual(picking.move_line_ids.lot_id, self.early)
        self.assertEqual(self._reserved(self.early), 1)
        self.assertIn("Vials reserved: HA-EARLY (1)", self._messages(session))
        reserved = picking.move_ids
        # the tray is this patient's: another session completed meanwhile takes the next lot
        other = self._planned()
        other.action_done()
        self.assertEqual(other.consumption_ids.lot_id, self.late)
        self.rpc(self.practitioner, "meso.treatment.session", "action_done", [session.id])
        self.env.invalidate_all()
        self.assertEqual(session.state, "done")
        self.assertFalse(session.meso_prepared)
        # the same transfer, completed with the multi-dose vial opened at the chair
        self.assertEqual(session.picking_id, picking)
        self.assertLess(reserved, picking.move_ids, "the moves reserved were kept")
        self.assertEqual(picking.state, "done")
        self.assertEqual(set(picking.move_ids.mapped("state")), {"done"})
        self.assertEqual(
            {(row.lot_id, row.volume_ml) for row in session.consumption_ids},
            {(self.early, 2.0), (self.multi_lot, 3.0)},
        )
        # the ledger is written once the session is done, with that status; the lines
        # name the lots they took
        self.assertEqual(set(session.consumption_ids.mapped("session_state")), {"done"})
        self.assertEqual(
            {(line.product_id, line.lot_id) for line in session.line_ids},
            {
                (self.vial.product_variant_id, self.early),
                (self.multi.product_variant_id, self.multi_lot),
            },
        )
        self.assertEqual(self._reserved(self.early), 0)
        self.assertEqual(self.early.product_qty, 0)
        # one chatter entry says it: the lots used, with the status Odoo tracks
        completed = session.message_ids.filtered(lambda m: "Completed. Lots used" in m.body)
        self.assertEqual(len(completed), 1)
        self.assertIn("HA-EARLY (2 ml)", completed.body)
        self.assertEqual(completed.tracking_value_ids.field_id.name, "state")
        # without tracking (here, the test's context), the entry is logged apart
        self.assertIn("Completed. Lots used: HA-LATE (2 ml)", self._messages(other))

    def test_a_changed_session_takes_what_it_needs_now(self):
        session = self._planned()
        session.action_meso_prepare()
        picking = session.picking_id
        self.assertEqual(picking.move_line_ids.lot_id, self.early)
        # the practitioner picks (or scans) another lot and doubles the volume
        session.line_ids.write({"lot_id": self.late.id, "volume_ml": 4.0})
        session.with_user(self.practitioner).action_done()
        # the reservation that no longer fitted is gone, not left cancelled behind
        self.assertFalse(picking.exists())
        self.assertEqual(session.picking_id.move_ids.mapped("state"), ["done"])
        self.assertEqual(session.picking_id.move_ids.quantity, 2)
        self.assertEqual(session.consumption_ids.lot_id, self.late)
        self.assertEqual(self._reserved(self.early), 0)
        self.assertEqual(self.early.product_qty, 1)

    def test_release_cancel_and_delete_give_the_vials_back(self):
        Picking = self.env["stock.picking"]
        session = self._planned()
        self.rpc(self.practitioner, "meso.treatment.session", "action_meso_prepare", [session.id])
        self.assertEqual(self._reserved(self.early), 1)
        self.rpc(self.practitioner, "meso.treatment.session", "action_meso_release", [session.id])
        self.assertEqual(self._reserved(self.early), 0)
        self.assertFalse(session.meso_prepared)
        self.assertFalse(Picking.search([("meso_session_id", "=", session.id)]))
        # preparing twice reserves once
        session.action_meso_prepare()
        session.action_meso_prepare()
        self.assertEqual(self._reserved(self.early), 1)
        self.assertEqual(Picking.search_count([("meso_session_id", "=", session.id)]), 1)
        self.rpc(self.practitioner, "meso.treatment.session", "action_cancel", [session.id])
        self.assertEqual(self._reserved(self.early), 0)
        self.assertFalse(Picking.search([("meso_session_id", "=", session.id)]))
        deleted = self._planned()
        deleted.action_meso_prepare()
        deleted_id = deleted.id
        self.rpc(self.practitioner, "meso.treatment.session", "unlink", [deleted_id])
        self.assertEqual(self._reserved(self.early), 0)
        self.assertFalse(Picking.search([("meso_session_id", "=", deleted_id)]))
        # moving the session to another clinic gives back what the first one held
        moved = self._planned()
        moved.action_meso_prepare()
        second = self.env["stock.warehouse"].create({"name": "Annexe", "code": "ANX"})
        moved.warehouse_id = second
        self.assertEqual(self._reserved(self.early), 0)
        self.assertFalse(moved.meso_prepared)

    def test_a_recalled_or_expired_lot_leaves_the_tray(self):
        session = self._planned()
        session.action_meso_prepare()
        self.early.with_user(self.manager).action_meso_recall(NOTICE)
        self.env.invalidate_all()
        self.assertFalse(session.meso_prepared)
        self.assertIn("went back to stock", self._messages(session))
        # the whole lot reached the quarantine, the vial reserved for the session included
        quarantine = self.warehouse.meso_quarantine_location_id
        self.assertEqual(
            self.env["stock.quant"]._get_available_quantity(
                self.vial.product_variant_id, quarantine, lot_id=self.early, strict=True
            ),
            1,
        )
        session.action_meso_prepare()
        self.assertEqual(session.picking_id.move_line_ids.lot_id, self.late)
        # the late lot expires before the session is completed: the expiry job
        # quarantines it, the tray included
        self.late.expiration_date = datetime.now() - timedelta(minutes=1)
        self.warehouse._meso_quarantine_expired()
        self.env.invalidate_all()
        self.assertFalse(session.meso_prepared)
        self.assertEqual(self._reserved(self.late), 0)
        with self.assertRefused(UserError, "Not enough usable stock"):
            session.with_user(self.practitioner).action_done()

    def test_a_lot_expired_since_preparing_is_not_injected(self):
        session = self._planned(date=datetime.now() + timedelta(minutes=30))
        session.action_meso_prepare()
        # expired between the morning and the session, not quarantined yet
        self.early.expiration_date = datetime.now() + timedelta(minutes=10)
        session.with_user(self.practitioner).action_done()
        self.assertEqual(session.consumption_ids.lot_id, self.late)
        self.assertEqual(self.early.product_qty, 1)
        self.assertEqual(self._reserved(self.early), 0)

    def test_a_session_moved_before_its_lot_arrived_is_refused(self):
        fresh = self._create_lot(self.vial, "HA-FRESH", 30)
        self._stock(fresh, 1, in_date=datetime.now() - timedelta(hours=1))
        session = self._planned()
        session.action_meso_prepare()
        self.assertEqual(session.picking_id.move_line_ids.lot_id, fresh)
        # the session was given earlier than planned, before that lot arrived
        session.date = datetime.now() - timedelta(hours=3)
        with self.assertRefused(UserError, "Lot HA-FRESH .* was received on"):
            session.with_user(self.practitioner).action_done()
        self.assertEqual(session.state, "planned")
        self.assertEqual(fresh.product_qty, 1)

    def test_the_tray_leaves_the_stock_through_the_session_only(self):
        session = self._planned()
        session.action_meso_prepare()
        picking = session.picking_id
        with self.assertRaises(xmlrpc.client.Fault) as refusal:
            self.rpc(self.stock_user, "stock.picking", "button_validate", [picking.id])
        self.assertEqual(refusal.exception.faultCode, WARNING)
        self.assertIn("Complete the session", refusal.exception.faultString)
        self.assertEqual(picking.state, "assigned")
        self.assertEqual(self.early.product_qty, 1)
        # Inventory may give the vials back; the session then reserves at completion
        self.rpc(self.stock_user, "stock.picking", "action_cancel", [picking.id])
        self.env.invalidate_all()
        self.assertFalse(session.meso_prepared)
        session.with_user(self.practitioner).action_done()
        self.assertEqual(session.state, "done")
        self.assertEqual(session.picking_id.state, "done")
        self.assertEqual(session.consumption_ids.lot_id, self.early)

    def test_who_may_prepare(self):
        session = self._planned()
        for user, code in (
            (self.portal, ACCESS_ERROR),
            (self.stock_user, ACCESS_ERROR),
            (self.other_manager, ACCESS_ERROR),
        ):
            for method in ("action_meso_prepare", "action_meso_release"):
                with self.assertRaises(xmlrpc.client.Fault, msg=user.login) as refusal:
                    self.rpc(user, "meso.treatment.session", method, [session.id])
                self.assertEqual(refusal.exception.faultCode, code, user.login)
        self.assertEqual(self._reserved(self.early), 0)
        self.rpc(self.manager, "meso.treatment.session", "action_meso_prepare", [session.id])
        self.assertEqual(self._reserved(self.early), 1)

    def test_what_cannot_be_prepared(self):
        empty = self._planned()
        empty.line_ids.unlink()
        done = self._planned()
        done.action_done()
        short = self._planned([(self.vial, 20.0)])  # ten vials, seven in stock
        for session, pattern in (
            (empty, "Add the vials"),
            (done, "not planned"),
            (short, "Not enough usable stock"),
        ):
            with self.assertRaises(xmlrpc.client.Fault) as refusal:
                self.rpc(
                    self.practitioner, "meso.treatment.session", "action_meso_prepare", [session.id]
                )
            self.assertEqual(refusal.exception.faultCode, WARNING)
            self.assertRegex(refusal.exception.faultString, pattern)
        self.assertFalse(self.env["stock.picking"].search([("meso_session_id", "=", short.id)]))
        self.assertEqual(self._reserved(self.late), 0)
