from lxml import etree
from psycopg2 import IntegrityError

from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import MesoCommon


@tagged("post_install", "-at_install")
class TestCatalogue(MesoCommon):
    def test_vial_is_storable_lot_tracked_with_expiry(self):
        vial = self._create_vial()
        self.assertTrue(vial.is_storable)
        self.assertEqual(vial.tracking, "lot")
        self.assertTrue(vial.use_expiration_date)
        self.assertEqual(vial.company_id, self.company)

    def test_existing_product_becomes_vial(self):
        product = self.env["product.template"].create({"name": "Vitamin C ampoule"})
        self.assertFalse(product.is_storable)
        product.write({"meso_is_vial": True, "meso_volume_ml": 5.0})
        self.assertTrue(product.is_storable)
        self.assertEqual(product.tracking, "lot")
        self.assertTrue(product.use_expiration_date)

    def test_vial_form_sets_stock_tracking(self):
        form = Form(self.env["product.template"])
        form.name = "Peptide complex 5 ml"
        form.meso_is_vial = True
        self.assertTrue(form.is_storable)
        self.assertEqual(form.tracking, "lot")
        self.assertTrue(form.use_expiration_date)
        form.meso_volume_ml = 5.0
        with form.meso_composition_ids.new() as line:
            line.ingredient_id = self.vit_c
            line.concentration = 20.0
            line.concentration_unit = "percent"
            self.assertAlmostEqual(line.amount_per_vial, 1000.0)
            self.assertEqual(line.amount_unit, "mg")
        vial = form.save()
        self.assertEqual(vial.meso_composition_ids.ingredient_id, self.vit_c)

    def test_vial_without_volume_refused(self):
        count = self.env["product.template"].search_count([])
        with self.assertRefused(ValidationError, "volume in ml"):
            self._create_vial(volume=0.0)
        with self.assertRefused(ValidationError, "volume in ml"):
            self._create_vial(volume=-1.0)
        self.assertEqual(self.env["product.template"].search_count([]), count)

    def test_multi_dose_needs_stability(self):
        with self.assertRefused(ValidationError, "once opened"):
            self._create_vial(meso_multi_dose=True, meso_in_use_hours=0)
        vial = self._create_vial(meso_multi_dose=True, meso_in_use_hours=24)
        self.assertEqual(vial.meso_in_use_hours, 24)

    def test_vial_cannot_lose_lot_tracking(self):
        vial = self._create_vial()
        with self.assertRefused(ValidationError, "tracked in stock by lot"):
            vial.tracking = "none"
        with self.assertRefused(ValidationError, "tracked in stock by lot"):
            vial.use_expiration_date = False

    def test_non_positive_concentration_refused(self):
        for concentration in (0.0, -5.0):
            with self.assertRefused(ValidationError, "must be greater than zero"):
                self._create_vial(
                    meso_composition_ids=[
                        (0, 0, {"ingredient_id": self.ha.id, "concentration": concentration})
                    ]
                )
        self.assertFalse(self.env["product.template"].search([("name", "=", "HA booster 2 ml")]))

    def test_same_ingredient_twice_refused(self):
        with self.assertRefused(ValidationError, "listed twice"):
            self._create_vial(
                meso_composition_ids=[
                    (0, 0, {"ingredient_id": self.ha.id, "concentration": 10.0}),
                    (0, 0, {"ingredient_id": self.ha.id, "concentration": 5.0}),
                ]
            )
        vial = self._create_vial()
        with self.assertRefused(ValidationError, "listed twice"):
            vial.meso_composition_ids = [
                (0, 0, {"ingredient_id": self.ha.id, "concentration": 1.0})
            ]
        self.assertEqual(len(vial.meso_composition_ids), 1)

    def test_ingredient_of_another_company_refused(self):
        foreign = self.env["meso.ingredient"].create(
            {"name": "Vitamin C", "category": "vitamin", "company_id": self.other_company.id}
        )
        with self.assertRaises(UserError):
            self._create_vial(
                meso_composition_ids=[(0, 0, {"ingredient_id": foreign.id, "concentration": 1.0})]
            )

    def test_ingredient_name_unique_per_company(self):
        # same name in another company is fine
        self.env["meso.ingredient"].create(
            {"name": "Hyaluronic acid", "company_id": self.other_company.id}
        )
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            with self.cr.savepoint():
                self.env["meso.ingredient"].create({"name": "Hyaluronic acid"})

    def test_amount_per_vial_in_the_right_unit(self):
        iu = self.env["meso.ingredient"].create({"name": "Hyaluronidase", "category": "enzyme"})
        vial = self._create_vial(
            volume=5.0,
            meso_composition_ids=[
                (
                    0,
                    0,
                    {
                        "ingredient_id": self.ha.id,
                        "concentration": 1.5,
                        "concentration_unit": "percent",
                    },
                ),
                (
                    0,
                    0,
                    {
                        "ingredient_id": self.vit_c.id,
                        "concentration": 200.0,
                        "concentration_unit": "mg_ml",
                    },
                ),
                (
                    0,
                    0,
                    {
                        "ingredient_id": self.biotin.id,
                        "concentration": 250.0,
                        "concentration_unit": "ug_ml",
                    },
                ),
                (
                    0,
                    0,
                    {"ingredient_id": iu.id, "concentration": 300.0, "concentration_unit": "iu_ml"},
                ),
            ],
        )
        amounts = {
            line.ingredient_id: (line.amount_per_vial, line.amount_unit)
            for line in vial.meso_composition_ids
        }
        self.assertEqual(amounts[self.ha], (75.0, "mg"))
        self.assertEqual(amounts[self.vit_c], (1000.0, "mg"))
        self.assertEqual(amounts[self.biotin], (1250.0, "µg"))
        self.assertEqual(amounts[iu], (1500.0, "IU"))
        vial.meso_volume_ml = 2.0
        ha_line = vial.meso_composition_ids.filtered(lambda line: line.ingredient_id == self.ha)
        self.assertEqual(ha_line.amount_per_vial, 30.0)

    def test_not_approved_for_injection_flag(self):
        approved = {
            status: self._create_vial(name=f"Vial {status}", meso_regulatory_status=status)
            for status in ("ce", "fda", "other", "none")
        }
        self.assertTrue(approved["ce"].meso_injection_approved)
        self.assertTrue(approved["fda"].meso_injection_approved)
        self.assertFalse(approved["other"].meso_injection_approved)
        self.assertFalse(approved["none"].meso_injection_approved)
        flagged = self.env["product.template"].search(
            [
                ("meso_is_vial", "=", True),
                ("meso_injection_approved", "=", False),
                ("id", "in", [v.id for v in approved.values()]),
            ]
        )
        self.assertEqual(flagged, approved["other"] | approved["none"])

    def test_ingredient_lists_its_vials(self):
        vial = self._create_vial()
        self.assertEqual(self.ha.product_count, 1)
        action = self.ha.action_view_products()
        self.assertEqual(self.env["product.template"].search(action["domain"]), vial)

    def _vial_views(self, user):
        """The Vials menu's list and form, as the user's web client gets them."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "meso_inventory.product_template_action_vial"
        )
        views = (
            self.env["product.template"]
            .with_user(user)
            .get_views([view for view in action["views"] if view[1] in ("list", "form")])
        )
        return {mode: etree.fromstring(view["arch"]) for mode, view in views["views"].items()}

    def test_vial_form_speaks_of_vials(self):
        manager = self._create_user("manager", "meso_inventory.group_manager")
        vial = self._create_vial(meso_regulatory_status="none")
        form = self._vial_views(manager)["form"]
        name = form.xpath("//div[hasclass('oe_title')]//field[@name='name']")[0]
        self.assertNotIn("Cheese Burger", name.get("placeholder"))
        self.assertIn("2 ml syringe", name.get("placeholder"))
        # the ribbon holds its text; the reason is its tooltip (and on the Mesotherapy tab)
        ribbon = form.xpath("//widget[@name='web_ribbon'][contains(@invisible, 'meso')]")[0]
        self.assertLessEqual(len(ribbon.get("title")), 12)
        self.assertIn("Not approved for injection", ribbon.get("tooltip"))
        vial_form = Form(
            vial.with_user(manager), view="meso_inventory.product_template_view_form_vial"
        )
        self.assertTrue(vial_form._get_modifier("meso_regulatory_ref", "invisible"))

    def test_no_regulatory_status_no_badge(self):
        manager = self._create_user("manager", "meso_inventory.group_manager")
        status = self._vial_views(manager)["list"].xpath("//field[@name='meso_regulatory_status']")[
            0
        ]
        self.assertEqual(status.get("invisible"), "meso_regulatory_status == 'none'")
        self.assertIsNone(status.get("decoration-danger"))
