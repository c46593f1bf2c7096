from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import MesoCommon

NOW = datetime(2026, 3, 2, 9, 0)


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestExpiryJob(MesoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vial = cls._create_vial(alert_time=30)
        cls.manager = cls._create_user("manager", "meso_inventory.group_manager")
        cls.company.meso_stock_manager_id = cls.manager
        cls.expired = cls._create_lot(cls.vial, "HA-EXPIRED", -3, now=NOW)
        cls.soon = cls._create_lot(cls.vial, "HA-SOON", 20, now=NOW)  # alert date passed
        cls.later = cls._create_lot(cls.vial, "HA-LATER", 200, now=NOW)
        for lot, qty in ((cls.expired, 4), (cls.soon, 3), (cls.later, 5)):
            cls._stock(lot, qty)

    def _alerts(self, lot):
        alert = self.env.ref("product_expiry.mail_activity_type_alert_date_reached")
        return lot.activity_ids.filtered(lambda a: a.activity_type_id == alert)

    def test_alert_date_raises_one_activity_per_lot_once(self):
        self.env["stock.lot"]._cron_meso_expiry()
        self.assertEqual(len(self._alerts(self.soon)), 1)
        self.assertEqual(self._alerts(self.soon).user_id, self.manager)
        self.assertIn("HA-SOON", self._alerts(self.soon).note)
        self.assertFalse(self._alerts(self.later))
        self.env["stock.lot"]._cron_meso_expiry()
        self.assertEqual(len(self._alerts(self.soon)), 1)
        with freeze_time(NOW + timedelta(days=180)):
            self.env["stock.lot"]._cron_meso_expiry()
            self.env["procurement.group"].run_scheduler()  # Odoo's own alert: nothing more
        self.assertEqual(len(self._alerts(self.later)), 1)
        self.assertEqual(len(self._alerts(self.soon)), 1)

    def test_expiry_alert_reaches_every_clinic_manager(self):
        self.company.meso_stock_manager_id = False
        second = self._create_user("manager2", "meso_inventory.group_manager")
        self.soon.name = "<img src=x onerror=alert(1)>"
        self.env["stock.lot"]._alert_date_exceeded()
        alerts = self._alerts(self.soon)
        self.assertEqual(alerts.user_id, self.manager | second)
        self.assertIn("&lt;img src=x onerror=alert(1)&gt;", alerts[0].note)
        self.assertNotIn("<img", alerts[0].note)

    def test_expired_lots_quarantined_by_a_validated_transfer(self):
        self.env["stock.lot"]._cron_meso_expiry()
        quarantine = self.warehouse.meso_quarantine_location_id
        self.assertEqual(quarantine.usage, "internal")
        self.assertFalse(quarantine._child_of(self.stock_location))
        self.assertEqual(self.expired.meso_quarantine_qty, 4)
        self.env.invalidate_all()
        self.assertEqual(self.expired.product_qty, 4)  # still the clinic's, out of the stock
        in_stock = self.env["stock.quant"]._get_available_quantity(
            self.expired.product_id, self.stock_location, lot_id=self.expired, strict=True
        )
        self.assertEqual(in_stock, 0)
        transfer = (
            self.env["stock.move.line"]
            .search([("lot_id", "=", self.expired.id), ("location_dest_id", "=", quarantine.id)])
            .picking_id
        )
        self.assertEqual(transfer.state, "done")
        self.assertEqual(transfer.picking_type_id, self.warehouse.int_type_id)
        self.assertEqual(self.soon.meso_quarantine_qty, 0)
        lots = self.env["stock.lot"].search([("meso_quarantine_qty", ">", 0)])
        self.assertEqual(lots & (self.expired | self.soon | self.later), self.expired)

    def test_quarantined_lot_is_never_picked(self):
        self.env["stock.lot"]._cron_meso_expiry()
        patient = self._create_patient()
        session = self._session(patient, [(self.vial, 2.0 * 9)], date=NOW - timedelta(days=10))
        # ten days ago the lot was not expired, but it now sits in quarantine
        with self.assertRefused(UserError, "8.0 usable"):
            session.action_done()

    def test_scrap_from_quarantine(self):
        self.env["stock.lot"]._cron_meso_expiry()
        self.expired.action_meso_scrap_quarantine()
        self.env.invalidate_all()
        self.assertEqual(self.expired.meso_quarantine_qty, 0)
        self.assertEqual(self.expired.product_qty, 0)
        scrap = self.env["stock.scrap"].search([("lot_id", "=", self.expired.id)])
        self.assertEqual(scrap.state, "done")
        with self.assertRefused(UserError, "Nothing of these lots is in quarantine"):
            self.later.action_meso_scrap_quarantine()
