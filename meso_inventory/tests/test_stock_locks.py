"""What completions lock, and what two clinics share: the keys of the advisory locks, the
phase in which a transaction waits for them, open vials and consumption locations per
clinic, and a batch completed in waves."""

import re
from datetime import datetime, timedelta

from psycopg2.extensions import TRANSACTION_STATUS_INTRANS

from odoo import SUPERUSER_ID, Command, api
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import MesoCommon

NOW = datetime.now().replace(microsecond=0)


@tagged("post_install", "-at_install")
class TestStockLocks(MesoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vendor = cls.env["res.partner"].create({"name": "Vial vendor"})
        cls.booster = cls._create_vial(
            "HA booster 2 ml", seller_ids=[(0, 0, {"partner_id": cls.vendor.id, "price": 9})]
        )
        cls.multi = cls._create_vial(
            "Peptides 10 ml", volume=10.0, meso_multi_dose=True, meso_in_use_hours=24
        )
        cls.clinic_b = cls.env["stock.warehouse"].create(
            {"name": "Clinic B", "code": "CLB", "company_id": cls.company.id}
        )
        cls.patient = cls._create_patient()
        cls.booster_lot = cls._create_lot(cls.booster, "HA-1", 300, now=NOW)
        cls.multi_lot = cls._create_lot(cls.multi, "PEP-1", 300, now=NOW)
        cls._stock(cls.booster_lot, 10)
        cls._stock(cls.multi_lot, 4)
        for lot, quantity in ((cls.booster_lot, 10), (cls.multi_lot, 4)):
            cls.env["stock.quant"]._update_available_quantity(
                lot.product_id,
                cls.clinic_b.lot_stock_id,
                quantity,
                lot_id=lot,
                in_date=NOW - timedelta(days=365),
            )
        cls.practitioner = cls._create_user("practitioner", "meso_inventory.group_practitioner")

    def _session_in(self, warehouse, lines, **values):
        return self._session(self.patient, lines, warehouse_id=warehouse.id, **values)

    def test_keys_are_the_clinics_vial_stock(self):
        here = self._session_in(self.warehouse, [(self.booster, 2.0), (self.multi, 1.0)])
        there = self._session_in(self.clinic_b, [(self.booster, 2.0)])
        booster, multi = self.booster.product_variant_id, self.multi.product_variant_id
        self.assertEqual(
            here._meso_vial_needs(),
            {(self.warehouse.id, booster.id): 1, (self.warehouse.id, multi.id): 1},
        )
        self.assertEqual(there._meso_vial_needs(), {(self.clinic_b.id, booster.id): 1})
        # nothing in common: the two completions do not wait on each other
        self.assertFalse(set(here._meso_vial_needs()) & set(there._meso_vial_needs()))

    def test_a_rule_it_may_take_below_its_minimum_adds_the_vendor(self):
        session = self._session_in(self.warehouse, [(self.booster, 2.0)])
        rule = self.env["stock.warehouse.orderpoint"].create(
            {
                "product_id": self.booster.product_variant_id.id,
                "warehouse_id": self.warehouse.id,
                "location_id": self.stock_location.id,
                "product_min_qty": 2,
                "product_max_qty": 12,
            }
        )

        def may_fall_below():
            return self.env["stock.warehouse.orderpoint"]._meso_may_fall_below(
                session._meso_vial_needs()
            )

        self.assertFalse(may_fall_below(), "10 vials, minimum 2")
        rule.product_min_qty = 9
        self.assertFalse(may_fall_below(), "10 vials less the one taken stay at 9")
        rule.product_min_qty = 10
        self.assertEqual(may_fall_below(), rule, "10 vials less the one taken fall below 10")
        self.assertEqual(may_fall_below()._meso_vendor_keys(), {(-self.company.id, self.vendor.id)})
        # what is already to leave the stock counts too: a delivery of 2 vials
        rule.product_min_qty = 8
        self.assertFalse(may_fall_below())
        delivery = self.env["stock.picking"].create(
            {
                "picking_type_id": self.warehouse.out_type_id.id,
                "location_id": self.stock_location.id,
                "location_dest_id": self.env.ref("stock.stock_location_customers").id,
                "move_ids": [
                    Command.create(
                        {
                            "name": "Delivery",
                            "product_id": self.booster.product_variant_id.id,
                            "product_uom_qty": 2,
                            "location_id": self.stock_location.id,
                            "location_dest_id": self.env.ref("stock.stock_location_customers").id,
                        }
                    )
                ],
            }
        )
        delivery.action_confirm()
        self.assertEqual(may_fall_below(), rule, "10 less 2 leaving less 1 taken")

    def test_the_locks_are_held_by_the_transaction_itself(self):
        """A transaction that wrote first (this test's) cannot restart: it takes the keys
        where it is, on its own connection, until it ends."""
        session = self._session_in(self.warehouse, [(self.booster, 2.0)])
        key = (self.warehouse.id, self.booster.product_variant_id.id)
        with self.assertLogs("odoo.addons.meso_inventory.models.stock_warehouse", "DEBUG") as logs:
            session.with_user(self.practitioner).action_done()
        self.assertIn(key, self._held_by())
        # how long the wait took, at DEBUG (what the benchmark reads)
        self.assertRegex(
            "\n".join(logs.output), rf"stock keys \[{re.escape(str(key))}\] held after \d+\.\d ms"
        )
        # a second completion in the same transaction takes its keys again, no wait
        again = self._session_in(self.warehouse, [(self.booster, 2.0)])
        again.with_user(self.practitioner).action_done()
        self.assertEqual(again.state, "done")
        self.assertNotIn("meso_locking", self.env.cr.cache, "the phase ended")
        self.assertFalse(self.env.cr._cnx.autocommit)

    def _held_by(self, cr=None):
        """The advisory keys granted to the backend of `cr` (this test's by default), read
        live from PostgreSQL's lock table."""
        cr = cr or self.env.cr
        cr.execute("SELECT pg_backend_pid()")
        pid = cr.fetchone()[0]
        self.env.cr.execute(
            "SELECT classid, objid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND pid = %s",
            [pid],
        )
        return set(self.env.cr.fetchall())

    def _planned_demo_session(self):
        planned = self.env["meso.treatment.session"].search(
            [("state", "=", "planned"), ("line_ids", "!=", False)], limit=1
        )
        if not planned:
            self.skipTest("no planned demo session (the test database has no demo data)")
        return planned, (planned.warehouse_id.id, planned.line_ids[0].product_id.id)

    def test_a_transaction_that_wrote_nothing_waits_before_its_snapshot(self):
        """An XML-RPC call has not queried yet; a web request has (ir.http first) and
        restarts, losing nothing. Either way the phase reads what to lock and waits in
        autocommit on the transaction's own connection, each statement seeing what the
        others committed; its end moves the keys into the transaction that starts then,
        and that transaction's snapshot follows the wait. Each on a transaction of its
        own, seeing the committed demo sessions."""
        planned, key = self._planned_demo_session()
        for queried_first in (False, True):
            with self.subTest(queried_first=queried_first), self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                if queried_first:
                    cr.execute("SELECT 1")
                warehouses = env["stock.warehouse"]
                with warehouses._meso_stock_locking() as lock_env:
                    self.assertIs(lock_env.cr, cr)
                    self.assertTrue(cr._cnx.autocommit, "each statement sees the others' work")
                    needs = planned.with_env(lock_env)._meso_vial_needs()
                    self.assertIn(key, needs)
                    warehouses._meso_lock_stock_keys(needs)
                    self.assertIn(key, self._held_by(cr), "held across the phase")
                    # taking a key again within the phase holds it already
                    warehouses._meso_lock_stock_keys([key])
                self.assertFalse(cr._cnx.autocommit)
                # the transaction started with the keys moving into it, in Odoo's isolation
                self.assertEqual(cr._cnx.info.transaction_status, TRANSACTION_STATUS_INTRANS)
                cr.execute("SHOW transaction_isolation")
                self.assertEqual(cr.fetchone()[0], "repeatable read")
                self.assertIn(key, self._held_by(cr))
                cr.rollback()
                self.assertNotIn(key, self._held_by(cr), "released with the transaction")
        # a transaction that wrote takes them where it is: what it wrote is seen there only
        with self.env["stock.warehouse"]._meso_stock_locking() as lock_env:
            self.assertIs(lock_env.cr, self.env.cr)
            self.assertFalse(self.env.cr._cnx.autocommit)

    def test_a_phase_that_fails_lets_the_keys_go(self):
        planned, key = self._planned_demo_session()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            warehouses = env["stock.warehouse"]
            with self.assertRaises(UserError), warehouses._meso_stock_locking():
                warehouses._meso_lock_stock_keys(planned.with_env(env)._meso_vial_needs())
                self.assertIn(key, self._held_by(cr))
                # a check refusing the completion once its keys are held
                raise UserError(env._("Refused"))
            self.assertFalse(cr._cnx.autocommit)
            self.assertNotIn("meso_locking", cr.cache)
            self.assertNotIn(key, self._held_by(cr), "no key outlives the failed phase")
            # the next phase of the same cursor starts afresh
            warehouses._meso_lock_stock_keys([key])
            self.assertIn(key, self._held_by(cr))
            cr.rollback()
            self.assertNotIn(key, self._held_by(cr))

    def test_a_recall_takes_the_lots_stock_in_every_clinic(self):
        """A recall waits for the completions of the lot's vial in each clinic, and they
        wait for it: none consumes a vial the recall did not see."""
        manager = self._create_user("lock-manager", "meso_inventory.group_manager")
        other = self._create_vial("Vitamin C 5 ml")
        self._stock(self._create_lot(other, "VC-1", 300, now=NOW), 5)
        self.booster_lot.with_user(manager).action_meso_recall(
            {"reference": "FSN-LOCK", "issuer": "Manufacturer", "reason": "Sterility"}
        )
        booster = self.booster.product_variant_id.id
        held = self._held_by()
        self.assertIn((self.warehouse.id, booster), held)
        self.assertIn((self.clinic_b.id, booster), held)
        # (the other tests' completions in this class's transaction hold their own keys)
        self.assertNotIn((self.warehouse.id, other.product_variant_id.id), held)

    def test_each_clinic_consumes_into_its_own_place(self):
        here = self._session_in(self.warehouse, [(self.booster, 2.0)])
        there = self._session_in(self.clinic_b, [(self.booster, 2.0)])
        (here | there).with_user(self.practitioner).action_done()
        destinations = (here | there).sudo().picking_id.location_dest_id
        self.assertEqual(len(destinations), 2, "one consumption place per clinic")
        self.assertEqual(
            destinations.location_id,
            self.env.ref("meso_inventory.stock_location_patient_consumption"),
        )
        self.assertEqual(
            here.sudo().picking_id.location_dest_id, self.warehouse.meso_consumption_location_id
        )

    def test_an_opened_vial_serves_its_own_clinic_only(self):
        first = self._session_in(self.warehouse, [(self.multi, 1.0)])
        first.with_user(self.practitioner).action_done()
        vial = first.consumption_ids.opened_vial_id
        self.assertEqual(vial.warehouse_id, self.warehouse)
        self.assertEqual(vial.remaining_ml, 9.0)
        there = self._session_in(self.clinic_b, [(self.multi, 1.0)])
        there.with_user(self.practitioner).action_done()
        self.assertNotEqual(there.consumption_ids.opened_vial_id, vial)
        self.assertEqual(there.consumption_ids.opened_vial_id.warehouse_id, self.clinic_b)
        self.assertEqual(vial.remaining_ml, 9.0, "clinic B opened its own vial")
        here = self._session_in(self.warehouse, [(self.multi, 1.0)])
        here.with_user(self.practitioner).action_done()
        self.assertEqual(here.consumption_ids.opened_vial_id, vial)
        self.assertEqual(vial.remaining_ml, 8.0)

    def test_a_batch_draws_from_the_vial_an_earlier_session_of_it_opened(self):
        """Waves: the second session waits for the first one's vial to exist, then draws
        from it, as it would have completed one by one."""
        sessions = self.env["meso.treatment.session"]
        for hours in (3, 2, 1):
            sessions |= self._session_in(
                self.warehouse, [(self.multi, 4.0)], date=NOW - timedelta(hours=hours)
            )
        sessions.with_user(self.practitioner).action_done()
        self.assertEqual(set(sessions.mapped("state")), {"done"})
        rows = sessions.consumption_ids.sorted("id")
        self.assertEqual(sum(rows.mapped("volume_ml")), 12.0)
        self.assertEqual(len(rows.opened_vial_id), 2, "12 ml from two 10 ml vials, not three")
        self.assertEqual(sum(rows.mapped("vial_qty")), 2)
        first_vial = sessions[0].consumption_ids.opened_vial_id
        self.assertIn(first_vial, sessions[1].consumption_ids.opened_vial_id)
