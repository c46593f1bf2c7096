"""Mesotherapy › Replenishment as a clinic manager (no Inventory administrator rights)
uses it, and the reorder messages purchasing reads."""

from datetime import datetime, timedelta

from freezegun import freeze_time
from lxml import etree

from odoo.tests import Form, tagged
from odoo.tools.safe_eval import safe_eval

from .common import MesoCommon

NOW = datetime(2026, 3, 2, 9, 0)


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestReplenishment(MesoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vials_uom = cls.env["uom.uom"].create(
            {
                "name": "Vials",
                "category_id": cls.env.ref("uom.product_uom_categ_unit").id,
                "uom_type": "bigger",
                "factor_inv": 1.0,
                "rounding": 0.01,
            }
        )
        cls.vendor = cls.env["res.partner"].create({"name": "MediDerm Supplies"})
        cls.vial = cls._create_vial(
            "Vitamin C 5 ml",
            volume=5.0,
            uom_id=cls.vials_uom.id,
            uom_po_id=cls.vials_uom.id,
            seller_ids=[(0, 0, {"partner_id": cls.vendor.id, "price": 6.5, "delay": 5})],
        )
        cls.product = cls.vial.product_variant_id
        cls.lot = cls._create_lot(cls.vial, "VC-1", 300, now=NOW)
        cls._stock(cls.lot, 12)
        cls.patient = cls._create_patient()
        cls.manager = cls._create_user("clinic-manager", "meso_inventory.group_manager")
        cls.buyer = cls._create_user("buyer", "purchase.group_purchase_user")
        cls.buyer.email = "buyer@clinic.example.com"
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

    def _action(self):
        return self.env["ir.actions.act_window"]._for_xml_id(
            "meso_inventory.stock_warehouse_orderpoint_action"
        )

    def _list_arch(self):
        view = self.env.ref("meso_inventory.stock_warehouse_orderpoint_view_list")
        Orderpoint = self.env["stock.warehouse.orderpoint"].with_user(self.manager)
        return etree.fromstring(Orderpoint.get_views([(view.id, "list")])["views"]["list"]["arch"])

    # -- New --------------------------------------------------------------------
    def test_a_new_row_without_a_vial_yet_does_not_fail(self):
        """A new rule of the list, before its vial is chosen: Odoo 18 computes its
        quantity to order with the rounding of no unit (AssertionError: precision_rounding
        must be positive)."""
        names = {field.get("name") for field in self._list_arch().iter("field")}
        self.assertIn("qty_to_order", names)
        Orderpoint = self.env["stock.warehouse.orderpoint"].with_user(self.manager)
        result = Orderpoint.with_context(default_trigger="auto").onchange(
            {}, [], {name: {} for name in names}
        )
        self.assertFalse(result["value"].get("qty_to_order"))

    def test_new_opens_a_form_vial_first_unit_from_it(self):
        action = self._action()
        self.assertIsNone(self._list_arch().get("editable"))  # New opens the form
        form_view = self.env.ref("meso_inventory.stock_warehouse_orderpoint_view_form")
        self.assertIn([form_view.id, "form"], [list(view) for view in action["views"]])
        Orderpoint = (
            self.env["stock.warehouse.orderpoint"]
            .with_user(self.manager)
            .with_context(**safe_eval(action["context"]))
        )
        form = Form(Orderpoint, view=form_view)
        arch_fields = [field.get("name") for field in form._view["tree"].iter("field")]
        self.assertLess(arch_fields.index("product_id"), arch_fields.index("product_min_qty"))
        self.assertFalse(form.product_uom_name)
        peptide = self._create_vial(
            "Peptide 5 ml", uom_id=self.vials_uom.id, uom_po_id=self.vials_uom.id
        )
        form.product_id = peptide.product_variant_id
        self.assertEqual(form.product_uom_name, "Vials")
        form.product_min_qty = 2
        form.product_max_qty = 6
        form.meso_auto_threshold = True
        rule = form.save()
        self.assertEqual(rule.trigger, "auto")
        self.assertEqual(rule.warehouse_id, self.warehouse)
        self.assertEqual((rule.product_min_qty, rule.product_max_qty), (2, 6))
        self.assertEqual(rule.create_uid, self.manager)

    # -- the list -----------------------------------------------------------------
    def test_use_per_week_and_no_cover_without_use(self):
        self.assertEqual(self.orderpoint.meso_use_per_week, 0)
        self.assertFalse(self.orderpoint.meso_days_of_cover)
        cover = self._list_arch().xpath("//field[@name='meso_days_of_cover']")[0]
        self.assertEqual(cover.get("invisible"), "not meso_avg_daily_use")
        product = self._list_arch().xpath("//field[@name='product_id']")[0]
        self.assertIn("text-wrap", product.get("class"))  # the full name, not "[MESO-H…"
        self.orderpoint.meso_avg_daily_use = 0.2
        self.orderpoint.invalidate_recordset()
        self.assertAlmostEqual(self.orderpoint.meso_use_per_week, 1.4)
        self.assertAlmostEqual(self.orderpoint.meso_days_of_cover, 60)

    # -- Learn thresholds from usage ------------------------------------------------
    def test_learning_says_which_rules_changed(self):
        self._stock(self.lot, 100)
        self.orderpoint.meso_auto_threshold = True
        for days_ago in (80, 50, 20):
            with freeze_time(NOW - timedelta(days=days_ago)):
                self._treat(6)
        learn = self.orderpoint.with_user(self.manager).action_meso_learn_thresholds
        action = learn()
        self.assertEqual(action["tag"], "display_notification")
        params = action["params"]
        self.assertEqual(params["title"], "Thresholds changed on 1 rule(s)")
        # min = ceil(0.2 x (5 lead + 7 safety)) = 3 ; max = 3 + ceil(0.2 x 14) = 6
        self.assertEqual(
            params["message"],
            f"Vitamin C 5 ml ({self.warehouse.name}): min 10 → 3, max 30 → 6 Vials",
        )
        self.assertEqual(params["next"], {"type": "ir.actions.client", "tag": "soft_reload"})
        self.assertIn("1.4 Vials a week", self.orderpoint.meso_threshold_note)
        self.assertEqual(learn()["params"]["title"], "No threshold changed")

    def test_learning_lists_at_most_ten_rules(self):
        rules = self.env["stock.warehouse.orderpoint"].browse()
        changes = [(self.orderpoint, 10, 30, index, index + 5) for index in range(12)]
        message = rules._meso_learning_notification(changes)["params"]["message"]
        self.assertEqual(len(message.splitlines()), 11)
        self.assertIn("… and 2 more", message)

    # -- messages in the vial's unit --------------------------------------------------
    def test_quantities_read_like_a_person_wrote_them(self):
        for quantity, text in (
            (4.0, "4 Vials"),
            (2.5, "2.5 Vials"),
            (1 / 3, "0.33 Vials"),
            (1250, "1,250 Vials"),
            (0, "0 Vials"),
        ):
            with self.subTest(quantity=quantity):
                self.assertEqual(self.vials_uom._meso_format_quantity(quantity), text)
        self.assertEqual(self.env["uom.uom"]._meso_format_quantity(3.0), "3")
        self.assertEqual(self.vials_uom._meso_format_quantity(3.0, with_unit=False), "3")

    def test_reorder_alert_and_digest_in_vials(self):
        session = self._treat(3)
        rfq = self.env["purchase.order"].search([("partner_id", "=", self.vendor.id)])
        log = rfq.message_ids.filtered(lambda m: "Reorder alert" in (m.body or ""))
        self.assertIn(
            f"Vitamin C 5 ml: forecast down to 9 Vials (minimum 10 Vials) after session "
            f"{session.name}; 21 Vials now on this RFQ",
            log.body,
        )
        self.assertNotIn(".0", log.body)
        self.orderpoint.product_min_qty = 40  # 9 usable: still below
        mails = self.env["stock.warehouse.orderpoint"]._cron_meso_reorder_digest()
        body = mails.filtered(lambda m: self.company.name in m.subject).body_html
        for text in ("9 Vials", "30 Vials", "40 Vials", "21 Vials"):
            self.assertIn(text, body)
        self.assertNotIn(".0", body)

    def test_a_vial_without_vendor_is_reported_in_vials(self):
        self.vial.seller_ids = False
        session = self._treat(3)
        notes = self.vial.activity_ids.filtered(lambda a: session.name in a.note).mapped("note")
        self.assertTrue(notes)
        for note in notes:
            self.assertIn(f"below its minimum (10 Vials) in {self.warehouse.name}", note)

    def test_expiry_alert_in_vials(self):
        soon = self._create_lot(self.vial, "VC-SOON", 2, now=NOW)
        soon.alert_date = NOW - timedelta(days=1)
        self._stock(soon, 5)
        self.env["stock.lot"]._alert_date_exceeded()
        self.assertIn("5 Vials of Vitamin C 5 ml in lot VC-SOON", soon.activity_ids.note)
