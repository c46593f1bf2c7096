import base64
import io
from datetime import datetime, timedelta

from freezegun import freeze_time
from openpyxl import load_workbook

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import MesoCommon


@tagged("post_install", "-at_install")
class TestReporting(MesoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vial = cls._create_vial(
            "Cocktail 5 ml",
            volume=5.0,
            standard_price=12.0,
            meso_composition_ids=[
                (
                    0,
                    0,
                    {
                        "ingredient_id": cls.ha.id,
                        "concentration": 1.5,
                        "concentration_unit": "percent",
                    },
                ),
                (
                    0,
                    0,
                    {
                        "ingredient_id": cls.biotin.id,
                        "concentration": 250.0,
                        "concentration_unit": "ug_ml",
                    },
                ),
            ],
        )
        lot = cls._create_lot(cls.vial, "CK-1", 200)
        cls.env["stock.quant"].with_context(inventory_mode=True).create(
            {
                "product_id": cls.vial.product_variant_id.id,
                "location_id": cls.stock_location.id,
                "lot_id": lot.id,
                "inventory_quantity": 5,
            }
        ).action_apply_inventory()
        cls.patient = cls._create_patient()
        cls.practitioner = cls._create_user("practitioner", "meso_inventory.group_practitioner")

    def test_consumption_cost_is_odoo_valuation(self):
        session = self._session(self.patient, [(self.vial, 7.0)])
        session.with_user(self.practitioner).action_done()
        consumption = session.consumption_ids
        self.assertEqual(consumption.vial_qty, 2)
        layers = session.move_ids.stock_valuation_layer_ids
        self.assertEqual(consumption.cost, -sum(layers.mapped("value")))
        self.assertEqual(consumption.cost, 24.0)
        with self.assertRaises(AccessError):
            consumption.with_user(self.practitioner).read(["cost"])

    def test_ingredients_injected(self):
        session = self._session(self.patient, [(self.vial, 4.0)])
        session.action_done()
        self.env.flush_all()
        rows = self.env["meso.ingredient.usage.report"].search([("session_id", "=", session.id)])
        amounts = {(row.ingredient_id, row.unit): row.amount for row in rows}
        # 4 ml x 1.5 % (15 mg/ml) = 60 mg; 4 ml x 250 ug/ml = 1000 ug
        self.assertEqual(amounts, {(self.ha, "mg"): 60.0, (self.biotin, "ug"): 1000.0})
        grouped = self.env["meso.ingredient.usage.report"]._read_group(
            [("session_id", "=", session.id)], ["ingredient_category"], ["amount:sum"]
        )
        self.assertEqual(dict(grouped)["vitamin"], 1000.0)
        # the pivot never adds mg and µg: one measure per unit, none for "amount"
        report = self.env["meso.ingredient.usage.report"]
        self.assertFalse(report._fields["amount"].aggregator)
        total = report.read_group(
            [("session_id", "=", session.id)], ["amount_mg:sum", "amount_ug:sum"], []
        )[0]
        self.assertEqual((total["amount_mg"], total["amount_ug"]), (60.0, 1000.0))

    def test_dashboard_cards_count_and_open_what_they_count(self):
        near = self._create_lot(self.vial, "CK-NEAR", 10)
        self._stock(near, 2)
        self.env["stock.warehouse.orderpoint"].create(
            {
                "product_id": self.vial.product_variant_id.id,
                "warehouse_id": self.warehouse.id,
                "product_min_qty": 50,
                "product_max_qty": 60,
                "trigger": "manual",
            }
        )
        session = self._session(self.patient, [(self.vial, 4.0)])
        session.action_done()  # one vial: 1 ml of waste
        wh = self.warehouse
        wh.invalidate_recordset()
        self.assertEqual(wh.meso_expiring_lot_count, 1)
        self.assertEqual(wh.meso_below_min_count, 1)
        self.assertEqual(wh.meso_session_today_count, 1)
        self.assertEqual(wh.meso_waste_month_ml, 1.0)
        self.assertEqual(wh.meso_open_rfq_count, 0)
        cards = {
            "action_meso_open_expiring": ("stock.lot", near),
            "action_meso_open_sessions_today": ("meso.treatment.session", session),
            "action_meso_open_waste": ("meso.treatment.consumption", session.consumption_ids),
        }
        for method, (model, expected) in cards.items():
            action = getattr(wh, method)()
            self.assertEqual(action["res_model"], model)
            self.assertEqual(self.env[model].search(action["domain"]), expected, method)
        self.assertEqual(
            len(
                self.env["stock.warehouse.orderpoint"].search(
                    wh.action_meso_open_below_min()["domain"]
                )
            ),
            1,
        )

    def test_one_definition_of_waste_and_of_below_minimum(self):
        multi = self._create_vial(
            "Multivitamin 10 ml", volume=10.0, meso_multi_dose=True, meso_in_use_hours=24
        )
        lot = self._create_lot(multi, "MV-1", 200)
        self._stock(lot, 3)
        wh = self.warehouse
        sessions = [self._session(self.patient, [(multi, 3.0)]) for _index in range(2)]
        sessions[0].action_done()
        old = sessions[0].consumption_ids.opened_vial_id
        with freeze_time(datetime.now() - timedelta(days=40)):
            old.sudo()._meso_discard("dropped")
        old.sudo().message_post(body="later note")  # a later edit keeps the waste's date
        old.sudo().write({"discard_reason": "dropped on the floor"})
        sessions[1].action_done()
        sessions[1].consumption_ids.opened_vial_id.sudo()._meso_discard("seal broken")
        wh.invalidate_recordset()
        self.assertEqual(wh.meso_discarded_month_ml, 7.0)
        action = wh.action_meso_open_discarded()
        listed = self.env[action["res_model"]].search(action["domain"])
        self.assertEqual(sum(listed.mapped("waste_ml")), wh.meso_discarded_month_ml)
        # below minimum: usable stock, whatever the open RFQs, on every screen and sheet
        vendor = self.env["res.partner"].create({"name": "Vendor"})
        multi.seller_ids = [(0, 0, {"partner_id": vendor.id, "price": 5.0})]
        rule = self.env["stock.warehouse.orderpoint"].create(
            {
                "product_id": multi.product_variant_id.id,
                "warehouse_id": wh.id,
                "product_min_qty": 2,
                "product_max_qty": 10,
            }
        )
        self._session(self.patient, [(multi, 10.0)]).action_done()  # the last vial: RFQ for 10
        rule.invalidate_recordset()
        self.assertEqual(rule.meso_open_rfq_qty, 10)
        self.assertGreaterEqual(rule.qty_forecast, rule.product_min_qty)
        self.assertEqual(rule.meso_usable_qty, 0)
        wh.invalidate_recordset()
        self.assertIn(rule, wh._meso_below_min_orderpoints())
        export = self.env["meso.audit.export"].create({"warehouse_id": wh.id})
        export.action_export()
        book = load_workbook(io.BytesIO(base64.b64decode(export.file_data)), read_only=True)
        summary = list(book["Summary"].iter_rows(values_only=True))
        row = next(r for r in summary if r[0] == multi.product_variant_id.display_name)
        self.assertEqual(row[summary[0].index("Usable below minimum")], "yes")
        reorder = list(book["Reorder status"].iter_rows(values_only=True))
        row = next(r for r in reorder if r[0] == multi.product_variant_id.display_name)
        forecast = row[reorder[0].index("Forecast (incl. open RFQs)")]
        self.assertEqual(forecast, rule.qty_forecast)

    def test_multi_dose_cost_is_shared_by_the_millilitres_drawn(self):
        multi = self._create_vial(
            "Peptide 10 ml",
            volume=10.0,
            standard_price=1.0,
            meso_multi_dose=True,
            meso_in_use_hours=72,
        )
        self._stock(self._create_lot(multi, "PP-1", 200), 1)
        sessions = [self._session(self.patient, [(multi, ml)]) for ml in (3.33, 3.33, 3.34)]
        for session in sessions:
            session.action_done()
        costs = [session.consumption_ids.cost for session in sessions]
        # a third each; the draw that empties the vial takes the rounding
        self.assertEqual(costs, [0.33, 0.33, 0.34])
        vial = sessions[0].consumption_ids.opened_vial_id
        self.assertEqual(vial.state, "used_up")
        self.assertAlmostEqual(sum(costs), vial.cost)
