from datetime import datetime, timedelta

from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestUiDashboard(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = cls.env["res.users"].create(
            {
                "name": "Chart Manager",
                "login": "chart_manager",
                "password": "chart_manager",
                "email": "chart.manager@example.com",
                "tour_enabled": False,
                "groups_id": [(6, 0, [cls.env.ref("meso_inventory.group_manager").id])],
            }
        )
        cls.warehouse = cls.env["stock.warehouse"].create({"name": "Chart clinic", "code": "CHRT"})
        rules = cls.env["stock.warehouse.orderpoint"]
        lots = {}
        for name, volume, lot_name, days, quantity in (
            ("Chart cocktail 5 ml", 5.0, "CH-FAR", 400, 30),
            ("Chart booster 2 ml", 2.0, "CH-NEAR", 10, 3),
        ):
            vial = cls.env["product.template"].create(
                {
                    "name": name,
                    "meso_is_vial": True,
                    "meso_volume_ml": volume,
                    "meso_regulatory_status": "ce",
                    "standard_price": 20.0,
                }
            )
            lots[lot_name] = cls.env["stock.lot"].create(
                {
                    "name": lot_name,
                    "product_id": vial.product_variant_id.id,
                    "company_id": cls.env.company.id,
                    "expiration_date": datetime.now() + timedelta(days=days),
                }
            )
            cls.env["stock.quant"]._update_available_quantity(
                vial.product_variant_id,
                cls.warehouse.lot_stock_id,
                quantity,
                lot_id=lots[lot_name],
                in_date=datetime.now() - timedelta(days=30),
            )
            rules |= rules.create(
                {
                    "product_id": vial.product_variant_id.id,
                    "warehouse_id": cls.warehouse.id,
                    "product_min_qty": 1,
                    "product_max_qty": 5,
                    "trigger": "manual",
                    "meso_avg_daily_use": 1.0,
                }
            )
        patient = cls.env["meso.patient"].create({"name": "Chart Patient"})
        cls.env["meso.treatment.session"].create(
            {
                "patient_id": patient.id,
                "warehouse_id": cls.warehouse.id,
                "date": datetime.now() - timedelta(minutes=5),
                "line_ids": [
                    (0, 0, {"product_id": lots["CH-FAR"].product_id.id, "volume_ml": 4.0}),
                ],
            }
        ).action_done()

    def test_manager_dashboard_charts(self):
        self.start_tour("/odoo", "meso_dashboard_tour", login="chart_manager", timeout=180)
