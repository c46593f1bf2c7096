from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestExternalApi(HttpCase):
    def test_create_lot_over_xmlrpc(self):
        vial = self.env["product.template"].create(
            {
                "name": "Amino acid complex 5 ml",
                "meso_is_vial": True,
                "meso_volume_ml": 5.0,
            }
        )
        db = self.env.cr.dbname
        uid = self.xmlrpc_common.authenticate(db, "admin", "admin", {})
        lot_id = self.xmlrpc_object.execute_kw(
            db,
            uid,
            "admin",
            "stock.lot",
            "create",
            [
                {
                    "name": "AA5-SUPPLIER-0042",
                    "product_id": vial.product_variant_id.id,
                    "company_id": vial.company_id.id,
                    "expiration_date": "2027-06-30 00:00:00",
                }
            ],
        )
        lot = self.env["stock.lot"].browse(lot_id)
        self.assertEqual(lot.name, "AA5-SUPPLIER-0042")
        self.assertEqual(lot.meso_expiry_bucket, "later")
        batch = self.xmlrpc_object.execute_kw(
            db,
            uid,
            "admin",
            "stock.lot",
            "create",
            [
                [
                    {
                        "name": f"AA5-B{i}",
                        "product_id": vial.product_variant_id.id,
                        "company_id": vial.company_id.id,
                    }
                    for i in range(2)
                ]
            ],
        )
        self.assertEqual(len(batch), 2)

    def test_create_reordering_rule_over_xmlrpc(self):
        vial = self.env["product.template"].create(
            {"name": "Peptide complex 5 ml", "meso_is_vial": True, "meso_volume_ml": 5.0}
        )
        warehouse = self.env["stock.warehouse"].search(
            [("company_id", "=", vial.company_id.id)], limit=1
        )
        db = self.env.cr.dbname
        uid = self.xmlrpc_common.authenticate(db, "admin", "admin", {})
        rule_id = self.xmlrpc_object.execute_kw(
            db,
            uid,
            "admin",
            "stock.warehouse.orderpoint",
            "create",
            [
                {
                    "product_id": vial.product_variant_id.id,
                    "warehouse_id": warehouse.id,
                    "product_min_qty": 5,
                    "product_max_qty": 15,
                }
            ],
        )
        rule = self.env["stock.warehouse.orderpoint"].browse(rule_id)
        self.assertEqual(rule.location_id, warehouse.lot_stock_id)
        self.assertEqual(rule.trigger, "auto")
        self.assertEqual(rule.qty_forecast, 0)
