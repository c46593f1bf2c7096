from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import MesoCommon

NOW = datetime(2026, 3, 2, 9, 0)


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestTreatmentSession(MesoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.booster = cls._create_vial("HA booster 2 ml", volume=2.0)
        cls.vit_c_amp = cls._create_vial(
            "Vitamin C 5 ml",
            volume=5.0,
            meso_composition_ids=[(0, 0, {"ingredient_id": cls.vit_c.id, "concentration": 200.0})],
        )
        cls.multi = cls._create_vial(
            "Multivitamin 10 ml",
            volume=10.0,
            meso_multi_dose=True,
            meso_in_use_hours=24,
            meso_composition_ids=[
                (0, 0, {"ingredient_id": cls.ha.id, "concentration": 5.0}),
                (0, 0, {"ingredient_id": cls.vit_c.id, "concentration": 0.4}),
            ],
        )
        cls.patient = cls._create_patient()
        cls.expired = cls._create_lot(cls.booster, "HA-EXPIRED", -2, now=NOW)
        cls.near = cls._create_lot(cls.booster, "HA-NEAR", 20, now=NOW)
        cls.far = cls._create_lot(cls.booster, "HA-FAR", 300, now=NOW)
        cls._stock(cls.far, 5, in_date=NOW - timedelta(days=40))
        cls._stock(cls.near, 2, in_date=NOW - timedelta(days=10))
        cls._stock(cls.expired, 3, in_date=NOW - timedelta(days=90))
        cls.vit_c_lot = cls._create_lot(cls.vit_c_amp, "VC-1", 200, now=NOW)
        cls._stock(cls.vit_c_lot, 10)
        cls.multi_lot = cls._create_lot(cls.multi, "MVX-1", 200, now=NOW)
        cls._stock(cls.multi_lot, 3)
        cls.manager = cls._create_user("manager", "meso_inventory.group_manager")
        cls.practitioner = cls._create_user("practitioner", "meso_inventory.group_practitioner")

    def _qty(self, lot):
        lot.invalidate_recordset(["product_qty"])
        return lot.product_qty

    # -- screening ---------------------------------------------------------
    def test_allergy_refused_naming_ingredient_and_product(self):
        self.patient.allergy_ingredient_ids = self.vit_c
        session = self._session(self.patient, [(self.booster, 1.0), (self.multi, 2.0)])
        with self.assertRefused(
            UserError, r"allergic to Vitamin C, contained in Multivitamin 10 ml"
        ):
            session.action_done()
        self.assertEqual(session.state, "planned")
        self.assertFalse(session.picking_id)
        self.assertEqual(self._qty(self.near), 2)
        self.assertFalse(self.env["meso.opened.vial"].search([("lot_id", "=", self.multi_lot.id)]))

    def test_every_contraindication_listed(self):
        self.patient.write(
            {
                "allergy_ingredient_ids": [(6, 0, self.ha.ids)],
                "is_pregnant": True,
                "is_breastfeeding": True,
                "keloid_history": True,
                "active_skin_infection": True,
            }
        )
        session = self._session(self.patient, [(self.booster, 1.0)])
        with self.assertRaises(UserError) as refusal:
            session.action_done()
        message = str(refusal.exception)
        for reason in (
            "allergic to Hyaluronic acid, contained in HA booster 2 ml",
            "pregnant",
            "breastfeeding",
            "history of keloid scarring",
            "active skin infection",
        ):
            self.assertIn(reason, message)
        self.assertEqual(session.state, "planned")

    def test_product_not_approved_for_injection_refused(self):
        self.booster.meso_regulatory_status = "none"
        session = self._session(self.patient, [(self.booster, 1.0)])
        with self.assertRefused(UserError, "not approved for injection"):
            session.action_done()

    def test_manager_override_is_kept_in_chatter(self):
        self.patient.is_pregnant = True
        session = self._session(self.patient, [(self.booster, 1.0)])
        session.with_user(self.manager).override_reason = "Obstetrician's written approval"
        session.with_user(self.manager).action_done()
        self.assertEqual(session.state, "done")
        bodies = " ".join(session.message_ids.mapped("body"))
        self.assertIn("Contraindications overridden: pregnant", bodies)
        self.assertIn("Obstetrician's written approval", bodies)

    def test_practitioner_cannot_override(self):
        self.patient.is_pregnant = True
        session = self._session(self.patient, [(self.booster, 1.0)])
        with self.assertRaises(AccessError):
            session.with_user(self.practitioner).write({"override_reason": "I think it is fine"})
        with self.assertRefused(UserError, "pregnant"):
            session.with_user(self.practitioner).action_done()

    def test_practitioner_completes_a_session(self):
        session = self._session(self.patient, [(self.booster, 2.0)])
        session.with_user(self.practitioner).action_done()
        self.assertEqual(session.state, "done")
        self.assertEqual(self._qty(self.near), 1)

    # -- allocation and posting --------------------------------------------
    def test_fefo_across_expired_near_and_far_lots(self):
        session = self._session(self.patient, [(self.booster, 5.0)])
        session.action_done()
        used = {c.lot_id: c.vial_qty for c in session.consumption_ids}
        self.assertEqual(used, {self.near: 2, self.far: 1})
        self.assertEqual(self._qty(self.expired), 3)
        self.assertEqual(self._qty(self.near), 0)
        self.assertEqual(self._qty(self.far), 4)
        self.assertEqual(session.lot_ids, self.near | self.far)
        # a line that took two lots names none of them: its ledger rows do
        self.assertFalse(session.line_ids.lot_id)

    def test_posting_is_one_validated_picking_of_the_consumption_type(self):
        session = self._session(self.patient, [(self.booster, 2.0), (self.vit_c_amp, 5.0)])
        session.action_done()
        picking = session.picking_id
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.picking_type_id, self.warehouse.meso_consumption_type_id)
        self.assertEqual(picking.picking_type_id.name, "Treatment consumption")
        # the clinic's own place under Patient consumption: clinics consuming the same lot
        # never share a quant
        self.assertEqual(picking.location_dest_id, self.warehouse.meso_consumption_location_id)
        self.assertEqual(
            picking.location_dest_id.location_id,
            self.env.ref("meso_inventory.stock_location_patient_consumption"),
        )
        self.assertEqual(picking.location_dest_id.usage, "customer")
        self.assertEqual(picking.origin, session.name)
        self.assertEqual(picking.meso_session_id, session)
        self.assertEqual(session.move_ids, picking.move_ids)
        lots = picking.move_line_ids.mapped(lambda ml: (ml.lot_id, ml.quantity))
        self.assertCountEqual(lots, [(self.near, 1), (self.vit_c_lot, 1)])
        self.assertEqual(session.line_ids[0].lot_id, self.near)

    def test_single_use_remainder_is_waste(self):
        session = self._session(self.patient, [(self.booster, 3.0)])
        session.action_done()
        line = session.line_ids
        self.assertEqual(line.vial_qty, 2)
        self.assertAlmostEqual(line.waste_ml, 1.0)
        self.assertAlmostEqual(sum(session.consumption_ids.mapped("volume_ml")), 3.0)

    def test_multi_dose_vial_reused_within_beyond_use_time(self):
        first = self._session(self.patient, [(self.multi, 3.0)])
        first.action_done()
        vial = self.env["meso.opened.vial"].search([("session_id", "=", first.id)])
        self.assertEqual(vial.state, "open")
        self.assertAlmostEqual(vial.remaining_ml, 7.0)
        self.assertEqual(vial.opened_at, NOW)
        self.assertEqual(vial.beyond_use_at, NOW + timedelta(hours=24))
        self.assertEqual(self._qty(self.multi_lot), 2)
        other = self._create_patient("Inès Laurent")
        with freeze_time(NOW + timedelta(hours=5)):
            second = self._session(other, [(self.multi, 4.0)])
            second.action_done()
        self.assertFalse(second.picking_id)
        self.assertEqual(second.consumption_ids.opened_vial_id, vial)
        self.assertEqual(second.lot_ids, self.multi_lot)
        # a line drawn from a vial already open names that vial's lot
        self.assertEqual(second.line_ids.lot_id, self.multi_lot)
        self.assertAlmostEqual(vial.remaining_ml, 3.0)
        self.assertEqual(self._qty(self.multi_lot), 2)
        with freeze_time(NOW + timedelta(hours=6)):
            # more than is left: the open vial is emptied, a new one opened
            third = self._session(other, [(self.multi, 5.0)])
            third.action_done()
        self.assertEqual(vial.state, "used_up")
        self.assertAlmostEqual(sum(third.consumption_ids.mapped("volume_ml")), 5.0)
        new_vial = self.env["meso.opened.vial"].search([("session_id", "=", third.id)])
        self.assertAlmostEqual(new_vial.remaining_ml, 8.0)
        self.assertEqual(self._qty(self.multi_lot), 1)
        # drawn from the open vial and from a new one, both of the same lot
        self.assertEqual(third.line_ids.lot_id, self.multi_lot)

    def test_multi_dose_vial_not_reused_after_beyond_use_time(self):
        first = self._session(self.patient, [(self.multi, 3.0)])
        first.action_done()
        vial = self.env["meso.opened.vial"].search([("session_id", "=", first.id)])
        with freeze_time(NOW + timedelta(hours=30)):
            second = self._session(self.patient, [(self.multi, 3.0)])
            second.action_done()
            self.assertNotEqual(second.consumption_ids.opened_vial_id, vial)
            self.assertEqual(self._qty(self.multi_lot), 1)
            self.env["meso.opened.vial"]._cron_discard_beyond_use()
        self.assertEqual(vial.state, "discarded")
        self.assertAlmostEqual(vial.waste_ml, 7.0)
        self.assertEqual(second.consumption_ids.opened_vial_id.state, "open")

    def test_beyond_use_never_after_lot_expiry(self):
        short_lot = self._create_lot(self.multi, "MVX-SHORT", 0.25, now=NOW)  # 6 hours left
        self._stock(short_lot, 1)
        session = self._session(self.patient, [(self.multi, 2.0)])
        session.action_done()
        vial = session.consumption_ids.opened_vial_id
        self.assertEqual(vial.lot_id, short_lot)
        self.assertEqual(vial.beyond_use_at, short_lot.expiration_date)

    def test_not_enough_stock_refused_and_nothing_consumed(self):
        first = self._session(self.patient, [(self.multi, 3.0)])
        first.action_done()
        vial = first.consumption_ids.opened_vial_id
        session = self._session(self.patient, [(self.booster, 16.0), (self.multi, 2.0)])
        with self.assertRefused(UserError, r"HA booster 2 ml: 8.0 vial\(s\) needed, 7.0 usable"):
            session.action_done()
        self.assertEqual(session.state, "planned")
        self.assertFalse(session.consumption_ids)
        self.assertEqual((self._qty(self.near), self._qty(self.far)), (2, 5))
        self.assertAlmostEqual(vial.remaining_ml, 7.0)
        self.assertFalse(self.env["stock.picking"].search([("meso_session_id", "=", session.id)]))

    def test_the_same_vial_on_two_lines_keeps_each_lines_trace(self):
        def trace(line):
            return [(c.lot_id, c.volume_ml, c.vial_qty, c.waste_ml) for c in line.consumption_ids]

        session = self._session(
            self.patient, [(self.booster, 2.0, self.far), (self.booster, 1.0, self.near)]
        )
        session.action_done()
        first, second = session.line_ids
        self.assertEqual(trace(first), [(self.far, 2.0, 1.0, 0.0)])
        self.assertEqual(trace(second), [(self.near, 1.0, 1.0, 1.0)])
        self.assertEqual(len(session.picking_id.move_ids), 2)
        self.assertEqual((self._qty(self.near), self._qty(self.far)), (1, 4))
        fefo = self._session(self.patient, [(self.booster, 2.0), (self.booster, 4.0)])
        fefo.action_done()
        first, second = fefo.line_ids
        self.assertEqual(trace(first), [(self.near, 2.0, 1.0, 0.0)])
        self.assertEqual(trace(second), [(self.far, 4.0, 2.0, 0.0)])
        # each line names the one lot it took
        self.assertEqual((first.lot_id, second.lot_id), (self.near, self.far))

    def test_picked_lot_is_used(self):
        session = self._session(self.patient, [(self.booster, 2.0, self.far)])
        session.action_done()
        self.assertEqual(session.lot_ids, self.far)
        self.assertEqual(self._qty(self.far), 4)
        self.assertEqual(self._qty(self.near), 2)

    def test_picked_expired_or_empty_lot_refused(self):
        session = self._session(self.patient, [(self.booster, 2.0, self.expired)])
        with self.assertRefused(UserError, "Lot HA-EXPIRED .* expired on 2026-02-28"):
            session.action_done()
        empty = self._create_lot(self.booster, "HA-EMPTY", 100, now=NOW)
        session = self._session(self.patient, [(self.booster, 2.0, empty)])
        with self.assertRefused(UserError, r"0.0 usable .*\(lot HA-EMPTY\)"):
            session.action_done()
        wrong = self._session(self.patient, [(self.booster, 2.0, self.vit_c_lot)])
        with self.assertRefused(UserError, "Lot VC-1 is a lot of"):
            wrong.action_done()

    def test_bad_session_lines_refused_at_entry(self):
        count = self.env["meso.treatment.session"].search_count([])
        for volume in (0.0, -1.0):
            with self.assertRefused(ValidationError, "volume greater than zero for HA booster"):
                self._session(self.patient, [(self.booster, volume)])
        gauze = self.env["product.template"].create({"name": "Gauze"})
        with self.assertRefused(ValidationError, "Gauze is not a mesotherapy vial"):
            self._session(self.patient, [(gauze, 1.0)])
        self.assertEqual(self.env["meso.treatment.session"].search_count([]), count)

    def test_archived_vial_cannot_be_injected(self):
        session = self._session(self.patient, [(self.booster, 1.0)])
        self.booster.active = False
        with self.assertRefused(UserError, "not an active mesotherapy vial"):
            session.action_done()

    def test_session_in_the_future_refused(self):
        session = self._session(self.patient, [(self.booster, 1.0)], date=NOW + timedelta(days=3))
        with self.assertRefused(UserError, "in the future"):
            session.action_done()

    def test_backdated_session_judges_expiry_at_its_date(self):
        # the expired lot was still valid a week ago: the session recorded now may use it
        session = self._session(
            self.patient, [(self.booster, 2.0, self.expired)], date=NOW - timedelta(days=7)
        )
        session.action_done()
        self.assertEqual(session.lot_ids, self.expired)

    # -- cancel and delete -------------------------------------------------
    def test_cancel_returns_stock_to_its_lots(self):
        session = self._session(self.patient, [(self.booster, 5.0), (self.multi, 2.0)])
        session.action_done()
        self.assertEqual((self._qty(self.near), self._qty(self.far)), (0, 4))
        session.action_cancel()
        self.assertEqual(session.state, "cancelled")
        self.assertEqual(session.return_picking_id.state, "done")
        self.assertEqual(
            (self._qty(self.near), self._qty(self.far), self._qty(self.multi_lot)), (2, 5, 3)
        )
        returned = session.return_picking_id.move_line_ids.mapped(
            lambda ml: (ml.lot_id, ml.quantity)
        )
        self.assertCountEqual(returned, [(self.near, 2), (self.far, 1), (self.multi_lot, 1)])
        self.assertEqual(
            self.env["meso.opened.vial"].search([("session_id", "=", session.id)]).state,
            "cancelled",
        )
        self.assertEqual(self.near.meso_session_count, 0)

    def test_cancel_restores_draws_from_open_vial(self):
        first = self._session(self.patient, [(self.multi, 3.0)])
        first.action_done()
        vial = first.consumption_ids.opened_vial_id
        second = self._session(self.patient, [(self.multi, 4.0)])
        second.action_done()
        self.assertAlmostEqual(vial.remaining_ml, 3.0)
        with self.assertRefused(UserError, "cancel those sessions first"):
            first.action_cancel()
        second.action_cancel()
        self.assertAlmostEqual(vial.remaining_ml, 7.0)
        self.assertEqual(vial.state, "open")

    def test_done_session_cannot_be_deleted(self):
        session = self._session(self.patient, [(self.booster, 1.0)])
        session.action_done()
        with self.assertRefused(UserError, "cannot be deleted"):
            session.unlink()
        planned = self._session(self.patient, [(self.booster, 1.0)])
        planned.unlink()
        self.assertFalse(planned.exists())

    # -- traceability ------------------------------------------------------
    def test_recall_lists_every_patient_of_a_lot(self):
        other = self._create_patient("Inès Laurent")
        first = self._session(self.patient, [(self.booster, 2.0)])
        second = self._session(other, [(self.booster, 2.0)])
        third = self._session(other, [(self.vit_c_amp, 5.0)])
        (first | second | third).action_done()
        self.assertEqual(self.near.meso_session_count, 2)  # two patients
        action = self.near.action_view_meso_sessions()
        sessions = self.env["meso.treatment.session"].search(action["domain"])
        self.assertEqual(sessions, first | second)
        self.assertEqual(sessions.patient_id, self.patient | other)
