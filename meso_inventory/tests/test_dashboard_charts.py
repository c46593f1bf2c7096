import json
from datetime import datetime, timedelta

from odoo.tests import tagged

from .common import MesoCommon


@tagged("post_install", "-at_install")
class TestDashboardCharts(MesoCommon):
    """Each figure of the manager's card is the sum of the list it opens, read with the
    clinic manager's own login."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vial = cls._create_vial("Chart cocktail 5 ml", volume=5.0, standard_price=12.0)
        cls.other = cls._create_vial("Chart booster 2 ml", volume=2.0, standard_price=30.0)
        cls.near = cls._create_lot(cls.vial, "CH-NEAR", 10)
        cls.mid = cls._create_lot(cls.other, "CH-MID", 60)
        cls.far = cls._create_lot(cls.vial, "CH-FAR", 400)
        cls._stock(cls.near, 3)
        cls._stock(cls.mid, 4)
        cls._stock(cls.far, 30)
        cls.patient = cls._create_patient()
        cls.manager = cls._create_user("chart_manager", "meso_inventory.group_manager")
        now = datetime.now()
        # sessions this week, three weeks ago and five months ago (outside the chart)
        cls.sessions = cls.env["meso.treatment.session"]
        for days_ago, ml in ((0, 4.0), (21, 7.0), (22, 3.0), (150, 5.0)):
            cls.sessions |= cls._session(
                cls.patient,
                [(cls.vial, ml, cls.far)],
                date=now - timedelta(days=days_ago, minutes=5),
            )
        cls.sessions.action_done()
        cls.rules = cls.env["stock.warehouse.orderpoint"].create(
            [
                {
                    "product_id": vial.product_variant_id.id,
                    "warehouse_id": cls.warehouse.id,
                    "product_min_qty": 1,
                    "product_max_qty": 5,
                    "trigger": "manual",
                }
                for vial in (cls.vial, cls.other)
            ]
        )
        cls.rules[0].meso_avg_daily_use = 2.0
        cls.rules[1].meso_avg_daily_use = 0.5

    def _card(self):
        card = self.warehouse.with_user(self.manager)
        card.invalidate_recordset()
        return card

    def _listed(self, action):
        return self.env[action["res_model"]].with_user(self.manager).search(action["domain"])

    def test_ml_injected_per_week_is_the_consumption_it_opens(self):
        card = self._card()
        chart = json.loads(card.meso_injected_chart)
        self.assertEqual(len(chart["values"]), 12)
        self.assertEqual(chart["method"], "action_meso_open_injected_week")
        for key, value in zip(chart["keys"], chart["values"], strict=True):
            listed = self._listed(card.action_meso_open_injected_week(key))
            self.assertEqual(listed._name, "meso.treatment.consumption")
            self.assertAlmostEqual(sum(listed.mapped("volume_ml")), value, places=2)
        self.assertEqual(chart["values"][-1], 4.0)  # this week
        self.assertEqual(sum(chart["values"]), 14.0)  # the session of five months ago is out
        self.assertEqual(card.meso_injected_ml, 14.0)
        listed = self._listed(card.action_meso_open_injected())
        self.assertEqual(sum(listed.mapped("volume_ml")), card.meso_injected_ml)
        self.assertEqual(listed.session_id, self.sessions[:3])

    def test_cancelled_session_leaves_the_chart(self):
        self.sessions[0].action_cancel()
        card = self._card()
        self.assertEqual(json.loads(card.meso_injected_chart)["values"][-1], 0.0)
        self.assertFalse(self._listed(card.action_meso_open_injected_week(11)))

    def test_expiring_value_is_the_quants_it_opens(self):
        card = self._card()
        # 3 vials at 12.00 within 30 days; 4 more at 30.00 within 90 days
        self.assertEqual(card.meso_expiring_30_value, 36.0)
        self.assertEqual(card.meso_expiring_90_value, 156.0)
        for days, lots in ((30, self.near), (90, self.near | self.mid)):
            figure = card[f"meso_expiring_{days}_value"]
            action = getattr(card, f"action_meso_open_expiring_{days}")()
            self.assertEqual(action["res_model"], "stock.quant")
            quants = self._listed(action)
            self.assertEqual(quants.lot_id, lots)
            self.assertEqual(sum(quants.mapped("meso_value")), figure)

    def test_fewest_days_of_cover_are_the_rules_it_opens(self):
        card = self._card()
        chart = json.loads(card.meso_cover_chart)
        rules = self._listed(card.action_meso_open_low_cover())
        self.assertEqual(set(chart["keys"]), set(rules.ids))
        self.assertEqual(chart["values"], sorted(chart["values"]))
        by_id = {rule.id: rule for rule in rules}
        for key, value in zip(chart["keys"], chart["values"], strict=True):
            self.assertAlmostEqual(by_id[key].meso_days_of_cover, value, places=1)
            self.assertEqual(self._listed(card.action_meso_open_cover_rule(key)), by_id[key])
        # the booster: 4 vials at half a vial a day; the cocktail: 28 vials at 2 a day
        self.assertEqual(chart["keys"], [self.rules[1].id, self.rules[0].id])
        self.assertEqual(chart["values"], [8.0, 14.0])
