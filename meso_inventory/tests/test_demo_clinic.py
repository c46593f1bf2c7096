from datetime import timedelta

from odoo import fields
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestDemoClinic(TransactionCase):
    """The demo looks like a clinic: two practitioners, about twenty patients, six
    months of sessions, thresholds learned from that use. (A test of the demo data
    itself, so it reads it; it is skipped on a database without it.)"""

    def setUp(self):
        super().setUp()
        if not self.env.ref("meso_inventory.res_users_practitioner_ines_demo", False):
            self.skipTest("database installed without demo data")

    def test_demo_is_a_clinic(self):
        practitioners = self.env["res.users"].search(
            [("groups_id", "in", self.env.ref("meso_inventory.group_practitioner").id)]
        )
        done = self.env["meso.treatment.session"].search([("state", "=", "done")])
        self.assertGreaterEqual(len(done.practitioner_id & practitioners), 2)
        patients = self.env["meso.patient"].search([])
        self.assertTrue(18 <= len(patients) <= 25, len(patients))
        self.assertGreaterEqual(len(done.patient_id), 18)
        now = fields.Datetime.now()
        dates = done.mapped("date")
        self.assertLess(min(dates), now - timedelta(days=165))
        self.assertGreater(max(dates), now - timedelta(days=7))
        months = {(now - date).days // 30 for date in dates}
        self.assertGreaterEqual(len(months), 6, "sessions in every month of the six")
        self.assertGreaterEqual(len(done), 80)
        # every session took its vials from stock received before it
        self.assertEqual(len(done.filtered("consumption_ids")), len(done))

    def test_learned_thresholds_are_a_clinics(self):
        rules = self.env["stock.warehouse.orderpoint"].search(
            [
                ("meso_auto_threshold", "=", True),
                ("warehouse_id", "=", self.env.ref("stock.warehouse0").id),
            ]
        )
        self.assertGreaterEqual(len(rules), 4)
        self.assertTrue(
            any(rule.product_min_qty > 2 for rule in rules), rules.mapped("product_min_qty")
        )
        self.assertTrue(
            all(rule.meso_avg_daily_use > 0 for rule in rules), rules.mapped("meso_avg_daily_use")
        )
        used = rules.filtered("meso_avg_daily_use")
        self.assertTrue(all(rule.meso_days_of_cover for rule in used))
