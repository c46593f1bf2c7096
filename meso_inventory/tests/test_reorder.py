from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import MesoCommon

NOW = datetime(2026, 3, 2, 9, 0)


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestReorder(MesoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vendor = cls.env["res.partner"].create({"name": "MediDerm Supplies"})
        cls.vial = cls._create_vial(
            "Vitamin C 5 ml",
            volume=5.0,
            seller_ids=[
                (0, 0, {"partner_id": cls.vendor.id, "price": 6.5, "delay": 5, "min_qty": 10})
            ],
        )
        cls.product = cls.vial.product_variant_id
        cls.lot = cls._create_lot(cls.vial, "VC-1", 300, now=NOW)
        cls._stock(cls.lot, 12)
        cls.patient = cls._create_patient()
        cls.buyer = cls._create_user("buyer", "purchase.group_purchase_user")
        cls.company.meso_purchase_responsible_id = cls.buyer
        cls.orderpoint = cls.env["stock.warehouse.orderpoint"].create(
            {
                "product_id": cls.product.id,
                "warehouse_id": cls.warehouse.id,
                "product_min_qty": 10,
                "product_max_qty": 30,
            }
        )

    def _treat(self, vials):
        session = self._session(self.patient, [(self.vial, 5.0 * vials)])
        session.action_done()
        return session

    def _rfqs(self):
        return self.env["purchase.order"].search(
            [("partner_id", "=", self.vendor.id), ("state", "=", "draft")]
        )

    def test_vials_are_bought(self):
        self.assertIn(self.env.ref("purchase_stock.route_warehouse0_buy"), self.vial.route_ids)

    def test_rule_from_product_warehouse_min_max_only(self):
        self.assertEqual(self.orderpoint.location_id, self.stock_location)
        self.assertEqual(self.orderpoint.trigger, "auto")
        self.assertEqual(self.orderpoint.qty_forecast, 12)

    def test_no_rfq_while_above_minimum(self):
        self._treat(2)
        self.assertFalse(self._rfqs())

    def test_rfq_right_after_the_crossing_session(self):
        session = self._treat(3)
        rfq = self._rfqs()
        self.assertEqual(len(rfq), 1)
        self.assertEqual(rfq.order_line.product_id, self.product)
        self.assertEqual(rfq.order_line.product_qty, 21)  # refill to max: 30 - 9
        self.assertEqual(rfq.order_line.price_unit, 6.5)
        self.assertEqual(rfq.order_line.orderpoint_id, self.orderpoint)
        activity = rfq.activity_ids
        self.assertEqual(activity.activity_type_id.name, "Reorder alert")
        self.assertEqual(activity.user_id, self.buyer)
        log = rfq.message_ids.filtered(lambda m: "Reorder alert" in (m.body or ""))
        self.assertTrue(log)
        self.assertIn(session.name, log.body)
        self.assertIn("minimum 10", log.body)
        self.assertEqual(self.orderpoint.meso_open_rfq_qty, 21)

    def test_a_vial_without_vendor_never_blocks_the_session(self):
        orphan = self._create_vial("Peptide 2 ml")
        lot = self._create_lot(orphan, "PEP-1", 300, now=NOW)
        self._stock(lot, 3)
        self.env["stock.warehouse.orderpoint"].create(
            {
                "product_id": orphan.product_variant_id.id,
                "warehouse_id": self.warehouse.id,
                "product_min_qty": 3,
                "product_max_qty": 6,
            }
        )
        session = self._session(self.patient, [(orphan, 2.0)])
        session.action_done()
        self.assertEqual(session.state, "done")
        alert = orphan.activity_ids.filtered(lambda a: a.user_id == self.buyer)
        self.assertEqual(len(alert), 1)
        self.assertIn("no RFQ could be created: the vial has no vendor", alert.note)
        self.assertIn(session.name, alert.note)

    def test_next_consumption_tops_up_the_same_rfq(self):
        self.vial.seller_ids.min_qty = 1
        self.orderpoint.product_max_qty = 10
        self._treat(3)  # 9 left: order 1 to get back to 10
        rfq = self._rfqs()
        self.assertEqual(rfq.order_line.product_qty, 1)
        second = self._treat(1)  # 8 left + 1 on order = 9: below the minimum again
        self.assertEqual(self._rfqs(), rfq)
        self.assertEqual(len(rfq.order_line), 1)
        self.assertEqual(rfq.order_line.product_qty, 2)
        self.assertEqual(len(rfq.activity_ids), 1)
        logs = rfq.message_ids.filtered(lambda m: "Reorder alert" in (m.body or ""))
        self.assertEqual(len(logs), 2)
        self.assertIn(second.name, logs[0].body)

    def test_alert_goes_to_every_purchase_user_without_responsible(self):
        self.company.meso_purchase_responsible_id = False
        other_buyer = self._create_user("buyer2", "purchase.group_purchase_user")
        self._treat(3)
        users = self._rfqs().activity_ids.user_id
        self.assertIn(self.buyer, users)
        self.assertIn(other_buyer, users)

    def test_vendor_minimum_and_purchase_unit_respected(self):
        self.vial.seller_ids.min_qty = 40
        self._treat(3)
        self.assertEqual(self._rfqs().order_line.product_qty, 40)

    def test_purchase_unit_rounds_up_to_whole_boxes(self):
        box = self.env["uom.uom"].create(
            {
                "name": "Box of 10",
                "category_id": self.env.ref("uom.product_uom_categ_unit").id,
                "uom_type": "bigger",
                "factor_inv": 10,
            }
        )
        self.vial.uom_po_id = box
        self.vial.seller_ids.write({"min_qty": 1, "product_uom": box.id})
        self._treat(3)
        line = self._rfqs().order_line
        self.assertEqual(line.product_uom, box)
        self.assertEqual(line.product_qty, 3)  # 21 vials -> 3 boxes (30 vials)

    def test_thresholds_learned_from_usage(self):
        self._stock(self.lot, 100)
        self.orderpoint.write(
            {"meso_auto_threshold": True, "product_min_qty": 0, "product_max_qty": 0}
        )
        # 18 vials over the last 90 days (one session 100 days ago is outside the window)
        for days_ago, vials in ((100, 7), (80, 6), (50, 6), (20, 6)):
            with freeze_time(NOW - timedelta(days=days_ago)):
                self._treat(vials)
        self.orderpoint.action_meso_learn_thresholds()
        self.assertAlmostEqual(self.orderpoint.meso_avg_daily_use, 0.2)
        # min = ceil(0.2 x (5 lead + 7 safety)) = 3 ; max = 3 + ceil(0.2 x 14) = 6
        self.assertEqual(self.orderpoint.product_min_qty, 3)
        self.assertEqual(self.orderpoint.product_max_qty, 6)
        self.env["stock.warehouse.orderpoint"]._cron_meso_learn_thresholds()
        self.assertEqual(self.orderpoint.product_min_qty, 3)

    def test_learning_respects_access_and_keeps_thresholds_without_history(self):
        self.orderpoint.write({"meso_auto_threshold": True})
        stock_user = self._create_user("stock-reader", "stock.group_stock_user")
        with self.assertRaises(AccessError):
            self.orderpoint.with_user(stock_user).action_meso_learn_thresholds()
        with self.assertRaises(AccessError):
            self.orderpoint.with_user(self.buyer).action_meso_learn_thresholds()
        self.assertEqual(
            (self.orderpoint.product_min_qty, self.orderpoint.product_max_qty), (10, 30)
        )
        # no treatment in the window: the thresholds stay, and the rule says so
        manager = self._create_user("learner", "meso_inventory.group_manager")
        self.orderpoint.with_user(manager).action_meso_learn_thresholds()
        self.orderpoint.invalidate_recordset()
        self.assertEqual(
            (self.orderpoint.product_min_qty, self.orderpoint.product_max_qty), (10, 30)
        )
        self.assertIn(
            "No use in the last 90 days: thresholds kept", self.orderpoint.meso_threshold_note
        )

    def test_thresholds_use_the_rules_own_vendor_lead_time(self):
        slow = self.env["product.supplierinfo"].create(
            {
                "partner_id": self.env["res.partner"].create({"name": "Far Away Pharma"}).id,
                "product_tmpl_id": self.vial.id,
                "delay": 10,
                "sequence": 99,
            }
        )
        self._stock(self.lot, 100)
        self.orderpoint.write(
            {"meso_auto_threshold": True, "supplier_id": slow.id, "product_min_qty": 0}
        )
        for days_ago in (80, 50, 20):
            with freeze_time(NOW - timedelta(days=days_ago)):
                self._treat(6)
        self.orderpoint.action_meso_learn_thresholds()
        # min = ceil(0.2 x (10 lead + 7 safety)) = 4 ; max = 4 + ceil(0.2 x 14) = 7
        self.assertEqual(self.orderpoint.product_min_qty, 4)
        self.assertEqual(self.orderpoint.product_max_qty, 7)

    def test_thresholds_use_the_lead_time_odoo_gives_the_rule(self):
        """Lead time is the rule's own (stock.rule._get_lead_days): the vendor's 5 days,
        plus the company's purchase security lead time and days to purchase."""
        self.company.write({"po_lead": 2.0, "days_to_purchase": 1.0})
        self._stock(self.lot, 100)
        self.orderpoint.write({"meso_auto_threshold": True, "product_min_qty": 0})
        for days_ago in (80, 50, 20):
            with freeze_time(NOW - timedelta(days=days_ago)):
                self._treat(6)
        lead = self.orderpoint._meso_lead_days()[self.orderpoint.id]
        self.assertEqual(lead, 8)
        self.orderpoint.invalidate_recordset(["lead_days_date"])
        self.assertEqual(
            lead, (self.orderpoint.lead_days_date - fields.Date.context_today(self.orderpoint)).days
        )
        self.orderpoint.action_meso_learn_thresholds()
        # min = ceil(0.2 x (8 lead + 7 safety)) = 3 ; max = 3 + ceil(0.2 x 14) = 6
        self.assertEqual(self.orderpoint.product_min_qty, 3)
        self.company.po_lead = 10.0
        self.orderpoint.action_meso_learn_thresholds()
        # min = ceil(0.2 x (16 lead + 7 safety)) = 5 ; max = 5 + 3 = 8
        self.assertEqual((self.orderpoint.product_min_qty, self.orderpoint.product_max_qty), (5, 8))

    def test_lead_days_of_many_rules_match_odoo(self):
        """Rules looked up once per route setup give every rule Odoo's own lead time,
        whatever its vendor, its route or its category."""
        slow_vendor = self.env["res.partner"].create({"name": "Far Away Pharma"})
        category = self.env["product.category"].create({"name": "Ampoules"})
        vials = [
            self._create_vial(
                f"Lead vial {delay}",
                categ_id=category.id if delay % 2 else self.vial.categ_id.id,
                seller_ids=[(0, 0, {"partner_id": slow_vendor.id, "delay": delay})],
            )
            for delay in (3, 4, 12)
        ]
        orderpoints = self.orderpoint | self.env["stock.warehouse.orderpoint"].create(
            [
                {"product_id": vial.product_variant_id.id, "warehouse_id": self.warehouse.id}
                for vial in vials
            ]
        )
        today = fields.Date.context_today(self.orderpoint)
        self.assertEqual(
            orderpoints._meso_lead_days(),
            {op.id: (op.lead_days_date - today).days for op in orderpoints},
        )
        self.assertEqual(sorted(orderpoints._meso_lead_days().values()), [3, 4, 5, 12])

    def test_manual_rule_keeps_its_thresholds(self):
        with freeze_time(NOW - timedelta(days=10)):
            self._treat(1)
        self.orderpoint.action_meso_learn_thresholds()
        self.assertAlmostEqual(self.orderpoint.meso_avg_daily_use, 1 / 90, places=4)
        self.assertEqual(self.orderpoint.product_min_qty, 10)

    def test_stock_expiring_before_use_is_not_usable(self):
        self.orderpoint.write(
            {"meso_avg_daily_use": 1.0, "product_min_qty": 5, "product_max_qty": 40}
        )
        soon = self._create_lot(self.vial, "VC-SOON", 5, now=NOW)
        self._stock(soon, 10)
        expired = self._create_lot(self.vial, "VC-OLD", -1, now=NOW)
        self._stock(expired, 4)
        self.orderpoint.invalidate_recordset()
        # at 1 vial a day, 5 of the 10 expiring in 5 days will be used; the expired 4 never
        self.assertEqual(self.orderpoint.qty_on_hand, 26)
        self.assertEqual(self.orderpoint.meso_unusable_qty, 9)
        self.assertEqual(self.orderpoint.meso_usable_qty, 17)
        self.assertEqual(self.orderpoint.qty_forecast, 17)
        self.assertEqual(self.orderpoint.meso_days_of_cover, 17)

    def test_a_lot_without_expiry_stays_usable(self):
        self.orderpoint.write(
            {"meso_avg_daily_use": 1.0, "product_min_qty": 5, "product_max_qty": 40}
        )
        undated = self._create_lot(self.vial, "VC-UNDATED", 300, now=NOW)
        undated.expiration_date = False
        self._stock(undated, 3)
        soon = self._create_lot(self.vial, "VC-SOON", 5, now=NOW)
        self._stock(soon, 10)
        self.orderpoint.invalidate_recordset()
        # 5 of the 10 expiring in 5 days will be used; the undated lot never expires
        self.assertEqual(self.orderpoint.meso_unusable_qty, 5)
        self.assertEqual(self.orderpoint.meso_usable_qty, 20)
        # the completion's bound reads the undated lot too, and leaves the rule above it
        self._treat(1)
        self.assertFalse(self._rfqs())
        self._treat(10)
        self.assertFalse(self._rfqs())
        self._treat(10)  # 4 vials left, all usable: below the minimum of 5
        self.assertTrue(self._rfqs())

    def test_expiring_stock_triggers_reorder(self):
        self.orderpoint.write(
            {"meso_avg_daily_use": 1.0, "product_min_qty": 10, "product_max_qty": 30}
        )
        old = self._create_lot(self.vial, "VC-OLD", -1, now=NOW)
        self._stock(old, 5)  # 17 on hand, but 5 expired: 12 usable
        self._treat(1)  # 16 on hand, 11 usable: above the minimum
        self.assertFalse(self._rfqs())
        self._treat(2)  # 14 on hand, 9 usable: Odoo alone would not reorder yet
        rfq = self._rfqs()
        self.assertEqual(rfq.order_line.product_qty, 21)  # back to 30 usable

    def test_daily_digest_lists_vials_below_minimum(self):
        self.buyer.email = "buyer@clinic.example.com"
        other = self._create_vial("Peptide 5 ml")
        self.env["stock.warehouse.orderpoint"].create(
            {
                "product_id": other.product_variant_id.id,
                "warehouse_id": self.warehouse.id,
                "product_min_qty": 2,
                "product_max_qty": 4,
                "trigger": "manual",  # a manual rule waits for someone: not in the digest
            }
        )
        self.orderpoint.product_min_qty = 15  # 12 on hand: below
        mails = self.env["stock.warehouse.orderpoint"]._cron_meso_reorder_digest()
        mail = mails.filtered(lambda m: self.company.name in m.subject)
        self.assertEqual(len(mail), 1)
        self.assertIn("1 vial(s) below their minimum", mail.subject)
        self.assertIn("Vitamin C 5 ml", mail.body_html)
        self.assertNotIn("Peptide", mail.body_html)
        self.assertEqual(mail.recipient_ids, self.buyer.partner_id)
