from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import MesoCommon

NOW = datetime(2026, 3, 2, 9, 0)


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestLotExpiry(MesoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vial = cls._create_vial()
        cls.product = cls.vial.product_variant_id

    def test_a_receipt_of_vials_needs_each_lots_expiry(self):
        supplier = self.env.ref("stock.stock_location_suppliers")
        picking = self.env["stock.picking"].create(
            {
                "picking_type_id": self.warehouse.in_type_id.id,
                "location_id": supplier.id,
                "location_dest_id": self.stock_location.id,
                "move_ids": [
                    (
                        0,
                        0,
                        {
                            "name": self.product.display_name,
                            "product_id": self.product.id,
                            "product_uom_qty": 3,
                            "product_uom": self.product.uom_id.id,
                            "location_id": supplier.id,
                            "location_dest_id": self.stock_location.id,
                        },
                    )
                ],
            }
        )
        picking.action_confirm()
        picking.move_ids.move_line_ids = [
            (5, 0, 0),
            (
                0,
                0,
                {
                    "product_id": self.product.id,
                    "lot_name": "REC-1",
                    "quantity": 3,
                    "location_id": supplier.id,
                    "location_dest_id": self.stock_location.id,
                    "picking_id": picking.id,
                },
            ),
        ]
        picking.move_ids.picked = True
        with self.assertRefused(UserError, "Lot REC-1 of .* has no expiration date in the future"):
            picking.button_validate()
        self.assertFalse(self.env["stock.lot"].search([("name", "=", "REC-1")]))
        picking.move_line_ids.expiration_date = NOW + timedelta(days=400)
        picking.button_validate()
        lot = self.env["stock.lot"].search([("name", "=", "REC-1")])
        self.assertEqual(lot.expiration_date, NOW + timedelta(days=400))

    def test_expiry_buckets(self):
        lots = {
            days: self._create_lot(self.vial, f"L{days}", days, now=NOW)
            for days in (-3, 10, 45, 200)
        }
        buckets = {days: lot.meso_expiry_bucket for days, lot in lots.items()}
        self.assertEqual(buckets, {-3: "expired", 10: "lt30", 45: "lt90", 200: "later"})
        self.assertEqual(lots[10].meso_days_to_expiry, 10)
        self.assertEqual(lots[-3].meso_days_to_expiry, -3)
        undated = self.env["stock.lot"].create(
            {
                "name": "NODATE",
                "product_id": self.env["product.product"]
                .create({"name": "Gauze", "is_storable": True, "tracking": "lot"})
                .id,
                "company_id": self.company.id,
            }
        )
        self.assertEqual(undated.meso_expiry_bucket, "none")

    def test_buckets_follow_time_with_daily_job(self):
        lot_45 = self._create_lot(self.vial, "L45", 45, now=NOW)
        lot_100 = self._create_lot(self.vial, "L100", 100, now=NOW)
        lot_20 = self._create_lot(self.vial, "L20", 20, now=NOW)
        with freeze_time(NOW + timedelta(days=25)):
            self.env["stock.lot"]._cron_refresh_expiry_bucket()
            self.env.invalidate_all()
            self.assertEqual(lot_45.meso_expiry_bucket, "lt30")
            self.assertEqual(lot_100.meso_expiry_bucket, "lt90")
            self.assertEqual(lot_20.meso_expiry_bucket, "expired")
            grouped = dict(
                self.env["stock.lot"]._read_group(
                    [("id", "in", (lot_45 | lot_100 | lot_20).ids)],
                    ["meso_expiry_bucket"],
                    ["__count"],
                )
            )
            self.assertEqual(grouped, {"lt30": 1, "lt90": 1, "expired": 1})
            groups = self.env["stock.lot"].read_group(
                [("id", "in", (lot_45 | lot_100 | lot_20).ids)],
                ["meso_expiry_bucket"],
                ["meso_expiry_bucket"],
            )
            self.assertEqual([g["meso_expiry_bucket"] for g in groups], ["expired", "lt30", "lt90"])

    def test_changing_expiration_date_moves_bucket(self):
        lot = self._create_lot(self.vial, "L200", 200, now=NOW)
        lot.expiration_date = NOW + timedelta(days=5)
        self.assertEqual(lot.meso_expiry_bucket, "lt30")

    def test_on_hand_quantity_per_lot(self):
        lot = self._create_lot(self.vial, "L200", 200, now=NOW)
        self._stock(lot, 7)
        self.assertEqual(lot.product_qty, 7)

    def test_clinic_stock_location_removes_fefo(self):
        fefo = self.env.ref("product_expiry.removal_fefo")
        self.assertEqual(self.stock_location.removal_strategy_id, fefo)
        self.assertEqual(self.env.ref("stock.warehouse0").lot_stock_id.removal_strategy_id, fefo)
        new_wh = self.env["stock.warehouse"].create({"name": "Annex clinic", "code": "ANX"})
        self.assertEqual(new_wh.lot_stock_id.removal_strategy_id, fefo)
        # its treatment consumption type comes with its first session, not before:
        # a new warehouse keeps a single outgoing type until then
        outgoing = self.env["stock.picking.type"].search(
            [("code", "=", "outgoing"), ("warehouse_id", "=", new_wh.id)]
        )
        self.assertEqual(outgoing, new_wh.out_type_id)
        consumption = new_wh._meso_consumption_type()
        self.assertEqual(consumption.name, "Treatment consumption")
        self.assertEqual(consumption.default_location_src_id, new_wh.lot_stock_id)
        self.assertTrue(new_wh.meso_quarantine_location_id)

    def test_fefo_reserves_soonest_usable_lot(self):
        far = self._create_lot(self.vial, "FAR", 300, now=NOW)
        near = self._create_lot(self.vial, "NEAR", 40, now=NOW)
        expired = self._create_lot(self.vial, "EXPIRED", -2, now=NOW)
        # received far first: FIFO would take it, FEFO must not
        self._stock(far, 5, in_date=NOW - timedelta(days=30))
        self._stock(near, 2, in_date=NOW - timedelta(days=10))
        self._stock(expired, 4, in_date=NOW - timedelta(days=60))
        picking = self._delivery(self.vial, 3)
        reserved = {ml.lot_id: ml.quantity for ml in picking.move_line_ids}
        self.assertEqual(reserved, {near: 2, far: 1})

    def test_expired_lot_never_reserved(self):
        expired = self._create_lot(self.vial, "EXPIRED", -1, now=NOW)
        self._stock(expired, 10)
        picking = self._delivery(self.vial, 1)
        self.assertFalse(picking.move_line_ids)
        self.assertEqual(picking.move_ids.state, "confirmed")

    def test_expired_lot_cannot_be_consumed_even_by_hand(self):
        expired = self._create_lot(self.vial, "EXPIRED", -1, now=NOW)
        self._stock(expired, 3)
        picking = self._delivery(self.vial, 1)
        picking.move_ids.move_line_ids = [
            (
                0,
                0,
                {
                    "product_id": self.product.id,
                    "lot_id": expired.id,
                    "quantity": 1,
                    "location_id": self.stock_location.id,
                    "location_dest_id": self.customer_location.id,
                    "picking_id": picking.id,
                },
            )
        ]
        picking.move_ids.picked = True
        with self.assertRefused(UserError, "EXPIRED .* expired on 2026-03-01"):
            picking.with_context(skip_expired=True).button_validate()
        self.assertEqual(expired.product_qty, 3)
        self.assertNotEqual(picking.state, "done")

    def test_expired_lot_can_still_be_scrapped(self):
        expired = self._create_lot(self.vial, "EXPIRED", -1, now=NOW)
        self._stock(expired, 3)
        scrap = self.env["stock.scrap"].create(
            {
                "product_id": self.product.id,
                "lot_id": expired.id,
                "scrap_qty": 3,
                "location_id": self.stock_location.id,
                "company_id": self.company.id,
            }
        )
        scrap.action_validate()
        self.assertEqual(scrap.state, "done")
        self.assertEqual(expired.product_qty, 0)

    def test_fresh_lot_is_consumed(self):
        fresh = self._create_lot(self.vial, "FRESH", 100, now=NOW)
        self._stock(fresh, 3)
        picking = self._delivery(self.vial, 1)
        picking.move_ids.picked = True
        picking.button_validate()
        self.assertEqual(picking.state, "done")
        self.assertEqual(fresh.product_qty, 2)
