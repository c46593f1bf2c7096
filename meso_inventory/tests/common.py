import time
from contextlib import contextmanager
from datetime import datetime, timedelta

import psycopg2.errors

import odoo
from odoo.tests import HttpCase, TransactionCase
from odoo.tools import SQL


def drop_database(name):
    """Drop a database a test made for itself, once the connections of the servers it
    ran are gone (a few seconds at most)."""
    odoo.sql_db.close_db(name)
    for attempt in range(20):
        try:
            with odoo.sql_db.db_connect("postgres").cursor() as cr:
                cr._cnx.autocommit = True
                cr.execute(SQL("DROP DATABASE IF EXISTS %s", SQL.identifier(name)))
            return
        except psycopg2.errors.ObjectInUse:
            if attempt == 19:
                raise
            time.sleep(1)


class MesoCommon(TransactionCase):
    """A clinic with its own warehouse, a few ingredients and helpers to stock vials."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env["res.company"].create({"name": "Clinique Lumière"})
        cls.other_company = cls.env["res.company"].create({"name": "Other Clinic"})
        cls.env.user.company_ids |= cls.company | cls.other_company
        cls.env = cls.env(context=dict(cls.env.context, allowed_company_ids=[cls.company.id]))
        cls.warehouse = cls.env["stock.warehouse"].search(
            [("company_id", "=", cls.company.id)], limit=1
        )
        cls.stock_location = cls.warehouse.lot_stock_id
        cls.customer_location = cls.env.ref("stock.stock_location_customers")
        Ingredient = cls.env["meso.ingredient"]
        cls.ha = Ingredient.create({"name": "Hyaluronic acid", "category": "hyaluronic_acid"})
        cls.vit_c = Ingredient.create({"name": "Vitamin C", "category": "vitamin"})
        cls.biotin = Ingredient.create({"name": "Biotin", "category": "vitamin"})

    @classmethod
    def _create_patient(cls, name="Claire Martin", **values):
        return cls.env["meso.patient"].create(dict({"name": name}, **values))

    @classmethod
    def _create_user(cls, login, group_xmlid):
        return cls.env["res.users"].create(
            {
                "name": login.title(),
                "login": login,
                "company_id": cls.company.id,
                "company_ids": [(6, 0, cls.company.ids)],
                "groups_id": [(6, 0, [cls.env.ref(group_xmlid).id])],
            }
        )

    @classmethod
    def _session(cls, patient, lines, **values):
        """A planned session; lines are (vial template, ml) or (vial template, ml, lot)."""
        return cls.env["meso.treatment.session"].create(
            dict(
                {
                    "patient_id": patient.id,
                    "warehouse_id": cls.warehouse.id,
                    "line_ids": [
                        (
                            0,
                            0,
                            {
                                "product_id": line[0].product_variant_id.id,
                                "volume_ml": line[1],
                                "lot_id": line[2].id if len(line) > 2 else False,
                            },
                        )
                        for line in lines
                    ],
                },
                **values,
            )
        )

    @contextmanager
    def assertRefused(self, exception, pattern, msg=None):
        """Like assertRaisesRegex, but rolls back what the refused call wrote."""
        with self.assertRaises(exception, msg=msg) as refusal:
            yield refusal
        self.assertRegex(str(refusal.exception), pattern)

    @classmethod
    def _create_vial(cls, name="HA booster 2 ml", volume=2.0, **values):
        return cls.env["product.template"].create(
            dict(
                {
                    "name": name,
                    "meso_is_vial": True,
                    "meso_volume_ml": volume,
                    "meso_regulatory_status": "ce",
                    "meso_composition_ids": [
                        (0, 0, {"ingredient_id": cls.ha.id, "concentration": 15.0})
                    ],
                },
                **values,
            )
        )

    @classmethod
    def _create_lot(cls, product, name, expires_in_days, now=None):
        now = now or datetime.now()
        return cls.env["stock.lot"].create(
            {
                "name": name,
                "product_id": product.product_variant_id.id,
                "company_id": cls.company.id,
                "expiration_date": now + timedelta(days=expires_in_days),
            }
        )

    @classmethod
    def _stock(cls, lot, quantity, in_date=None):
        """Vials of the lot on the clinic's shelf, received a year ago unless told."""
        cls.env["stock.quant"]._update_available_quantity(
            lot.product_id,
            cls.stock_location,
            quantity,
            lot_id=lot,
            in_date=in_date or datetime.now() - timedelta(days=365),
        )

    def _delivery(self, product, quantity):
        """A confirmed and reserved outgoing picking of the clinic's warehouse."""
        picking = self.env["stock.picking"].create(
            {
                "picking_type_id": self.warehouse.out_type_id.id,
                "location_id": self.stock_location.id,
                "location_dest_id": self.customer_location.id,
                "move_ids": [
                    (
                        0,
                        0,
                        {
                            "name": product.display_name,
                            "product_id": product.product_variant_id.id,
                            "product_uom_qty": quantity,
                            "product_uom": product.uom_id.id,
                            "location_id": self.stock_location.id,
                            "location_dest_id": self.customer_location.id,
                        },
                    )
                ],
            }
        )
        picking.action_confirm()
        picking.action_assign()
        return picking


class MesoRoleCommon(HttpCase, MesoCommon):
    """The clinic's roles, each with its own login and password, for the external API."""

    @classmethod
    def _login_user(cls, login, group_xmlid, company=None):
        company = company or cls.company
        groups = cls.env.ref(group_xmlid)
        if group_xmlid != "base.group_portal":
            groups |= cls.env.ref("base.group_user")
        return cls.env["res.users"].create(
            {
                "name": login.title(),
                "login": f"role-{login}",
                "password": f"{login}-pass",
                "email": f"{login}@example.com",
                "company_id": company.id,
                "company_ids": [(6, 0, company.ids)],
                "groups_id": [(6, 0, groups.ids)],
            }
        )

    @classmethod
    def _create_role_logins(cls, prefix=""):
        """The clinic's practitioner and manager, an Inventory user, a portal user and
        another company's manager, each with a login of her own."""
        cls.practitioner = cls._login_user(
            f"{prefix}practitioner", "meso_inventory.group_practitioner"
        )
        cls.manager = cls._login_user(f"{prefix}manager", "meso_inventory.group_manager")
        cls.stock_user = cls._login_user(f"{prefix}stockuser", "stock.group_stock_user")
        cls.portal = cls._login_user(f"{prefix}portal", "base.group_portal")
        cls.other_manager = cls._login_user(
            f"{prefix}othermanager", "meso_inventory.group_manager", company=cls.other_company
        )

    def rpc(self, user, model, method, *args, **kwargs):
        return self.xmlrpc_object.execute_kw(
            self.env.cr.dbname, user.id, f"{user.login[5:]}-pass", model, method, list(args), kwargs
        )
