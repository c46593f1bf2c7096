"""The addon in French (issue #14): what a French-speaking clinic manager and
practitioner see of the addon's own strings (menus, actions, the main views and their
fields, the audit workbook, refusals, the daily digest) reads in French.

The check is built from the translation template: the terms of meso_inventory's own
files, less those Odoo's own modules also define ("Name", "Date", "Activities"...: the
rendered text may show Odoo's term) and less those that read the same in both
languages."""

import base64
import html
import io
import re
from datetime import datetime

import polib
from lxml import etree
from openpyxl import load_workbook

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools.misc import file_path

from .common import MesoCommon

# Odoo's modules the addon builds on, whose terms some of its own fields repeat
CORE_MODULES = (
    "base",
    "web",
    "mail",
    "product",
    "uom",
    "stock",
    "stock_account",
    "product_expiry",
    "purchase",
    "purchase_stock",
)
# the addon's actions a clinic manager works from, and the practitioner's
MANAGER_ACTIONS = (
    "meso_treatment_session_action",
    "meso_treatment_session_action_calendar",
    "meso_patient_action",
    "meso_formulation_action",
    "meso_formulation_action_template",
    "product_template_action_vial",
    "meso_ingredient_action",
    "stock_warehouse_action_meso_dashboard",
    "stock_warehouse_orderpoint_action",
    "stock_lot_action_expiry",
    "stock_lot_action_quarantine",
    "meso_opened_vial_action",
    "meso_treatment_consumption_action",
    "meso_treatment_consumption_action_waste",
    "meso_audit_export_action",
    "meso_audit_count_import_action",
)
PRACTITIONER_ACTIONS = (
    "meso_treatment_session_action",
    "meso_patient_action",
    "meso_formulation_action",
)
COLLECTOR = "code:addons/meso_inventory/report/meso_audit_collector.py"
# attributes of a view that hold no words: names, expressions, widgets, classes
TECHNICAL_ATTRIBUTES = {
    "name",
    "id",
    "class",
    "widget",
    "invisible",
    "readonly",
    "required",
    "column_invisible",
    "context",
    "domain",
    "options",
    "groups",
    "type",
    "icon",
    "decoration-danger",
    "decoration-warning",
    "decoration-muted",
    "decoration-success",
    "decoration-info",
    "t-name",
    "t-if",
    "t-out",
    "t-att-class",
    "filter_domain",
    "default_order",
    "js_class",
    "mode",
    "modifiers",
}


def _words(text):
    """The text as a reader sees it: tags removed, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text or "")).split())


@tagged("post_install", "-at_install")
class TestFrench(MesoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("fr_FR")
        cls.env["ir.module.module"]._load_module_terms(["meso_inventory"], ["fr_FR"], True)
        core = set()
        for module in CORE_MODULES:
            core.update(e.msgid for e in polib.pofile(file_path(f"{module}/i18n/{module}.pot")))
        french = {e.msgid: e.msgstr for e in polib.pofile(file_path("meso_inventory/i18n/fr.po"))}
        # the addon's own terms that a French reader must not see in English; a term of
        # the template missing from fr.po counts, so that a new string needs its French
        cls.own = {
            entry.msgid: entry
            for entry in polib.pofile(file_path("meso_inventory/i18n/meso_inventory.pot"))
            if entry.msgid not in core and french.get(entry.msgid) != entry.msgid
        }
        cls.french = french
        cls.manager = cls._create_user("manon", "meso_inventory.group_manager")
        cls.practitioner = cls._create_user("lea", "meso_inventory.group_practitioner")
        (cls.manager | cls.practitioner).lang = "fr_FR"
        # a French clinic types its data in French
        cls.ha.name = "Acide hyaluronique"
        cls.vial = cls._create_vial("Booster AH 2 ml", volume=2.0, standard_price=10.0)
        now = datetime.now()
        cls.lot_near = cls._create_lot(cls.vial, "LOT-A", 20, now=now)
        cls.lot_far = cls._create_lot(cls.vial, "LOT-B", 200, now=now)
        cls._stock(cls.lot_near, 2)
        cls._stock(cls.lot_far, 3)
        cls.patient = cls._create_patient("Claire Martin")

    def _env(self, user):
        """The user's own environment, in her language, as the web client gives it."""
        return self.env(
            user=user,
            context=dict(user.with_user(user).context_get(), allowed_company_ids=[self.company.id]),
        )

    # -- what is rendered -------------------------------------------------------
    def _view_xmlids(self, view_ids, user):
        """The addon's views combined into the given root views for this user."""
        views = self.env["ir.ui.view"].browse(view_ids)
        todo = views
        while todo:
            children = todo.inherit_children_ids.filtered(
                lambda v: v.active and (not v.groups_id or v.groups_id & user.groups_id)
            )
            todo = children - views
            views |= children
        return {
            xmlid
            for xmlids in views._get_external_ids().values()
            for xmlid in xmlids
            if xmlid.startswith("meso_inventory.")
        }

    def _render_actions(self, user, xmlids):
        """Texts (whole and as units) and the occurrences rendered by the actions' views."""
        env = self._env(user)
        texts, units, occurrences = [], set(), set()
        for xmlid in xmlids:
            action = env["ir.actions.act_window"]._for_xml_id(f"meso_inventory.{xmlid}")
            texts += [action["name"], action.get("help") or ""]
            units |= {_words(action["name"]), _words(action.get("help"))}
            occurrences |= {
                f"model:ir.actions.act_window,name:meso_inventory.{xmlid}",
                f"model_terms:ir.actions.act_window,help:meso_inventory.{xmlid}",
            }
            views = [list(view) for view in action["views"]]
            if action.get("target") != "new":  # a dialog has no search bar
                search = action.get("search_view_id")
                views.append([search and search[0], "search"])
            result = env[action["res_model"]].get_views(
                views, {"toolbar": True, "load_filters": True}
            )
            view_ids = []
            for view in result["views"].values():
                view_ids.append(view["id"])
                texts.append(html.unescape(view["arch"]))
                for node in etree.fromstring(view["arch"]).iter():
                    units |= {_words(node.text), _words(node.tail)}
                    units |= {
                        _words(value)
                        for key, value in node.attrib.items()
                        if key not in TECHNICAL_ATTRIBUTES
                    }
                for bound in view.get("toolbar", {}).values():
                    texts += [binding["name"] for binding in bound]
                    units |= {binding["name"] for binding in bound}
            for view_xmlid in self._view_xmlids(view_ids, user):
                occurrences.add(f"model_terms:ir.ui.view,arch_db:{view_xmlid}")
            for model, description in result["models"].items():
                prefix = model.replace(".", "_")
                for name, field in description["fields"].items():
                    labels = [field.get("string"), field.get("help")]
                    labels += [label for _value, label in field.get("selection") or []]
                    texts += filter(None, labels)
                    units |= {_words(label) for label in labels}
                    occurrences |= {
                        f"model:ir.model.fields,field_description:meso_inventory.field_{prefix}__{name}",
                        f"model:ir.model.fields,help:meso_inventory.field_{prefix}__{name}",
                    }
                    occurrences |= {
                        "model:ir.model.fields.selection,name:meso_inventory."
                        f"selection__{prefix}__{name}__{value}".lower()
                        for value, _label in field.get("selection") or []
                        if isinstance(value, str)
                    }
        return "\n".join(texts), units - {""}, occurrences

    def _english_left(self, units, text):
        """The addon's own English terms among what was rendered: a whole text, or a
        phrase of three words or more inside one."""
        flat = _words(text)
        left = set()
        for msgid in self.own:
            english = _words(msgid)
            if english in units or (len(english.split()) >= 3 and english in flat):
                left.add(msgid)
        return left

    def _assert_french(self, text, units, occurrences, hidden=()):
        """Every term of the rendered views and fields shows in French (but those of
        elements the user's groups remove: hidden), and none of the addon's in English."""
        expected = {
            msgid for msgid, entry in self.own.items() if self._occurrences(entry) & occurrences
        } - set(hidden)
        self.assertTrue(expected)
        flat = _words(text)
        missing = {
            msgid
            for msgid in expected
            if not self.french.get(msgid)
            or (_words(self.french[msgid]) not in units and _words(self.french[msgid]) not in flat)
        }
        self.assertFalse(missing, "terms of the addon not shown in French")
        self.assertFalse(self._english_left(units, text), "the addon's terms left in English")
        return expected

    @staticmethod
    def _occurrences(entry):
        """Where a template entry is used: model:ir.ui.menu,name:meso_inventory.x..."""
        return {where.lower() for where, _line in entry.occurrences}

    # -- the tests ----------------------------------------------------------------
    def test_menus_in_french(self):
        menus = self.env["ir.ui.menu"].with_env(self._env(self.manager)).load_menus(False)
        names = {menu["name"] for menu in menus.values() if isinstance(menu, dict)}
        expected = {
            msgid
            for msgid, entry in self.own.items()
            if any(where.startswith("model:ir.ui.menu,") for where in self._occurrences(entry))
        }
        self.assertIn("Mésothérapie", names)
        self.assertFalse({msgid for msgid in expected if self.french.get(msgid) not in names})
        self.assertFalse(expected & names, "menus left in English")

    def test_main_views_in_french_for_the_clinic_manager(self):
        text, units, occurrences = self._render_actions(self.manager, MANAGER_ACTIONS)
        expected = self._assert_french(text, units, occurrences)
        # what the manager reads on the session form, the vial form, the dashboard
        for msgid in (
            "Complete the session? The vials are taken from stock lot by lot.",
            "Not approved for injection",
            "Vials with usable stock below minimum",
            "Learn thresholds from usage",
            "Lots expired or expiring within 30 days",
        ):
            self.assertIn(msgid, expected)
        self.assertIn("Terminer la séance ?", text)
        self.assertIn("Flacons dont le stock utilisable est sous le minimum", text)

    def test_main_views_in_french_for_the_practitioner(self):
        text, units, occurrences = self._render_actions(self.practitioner, PRACTITIONER_ACTIONS)
        override = "Only if the session must go ahead despite the contraindications above"
        expected = self._assert_french(text, units, occurrences, hidden=[override])
        self.assertIn("Plan course", expected)
        self.assertIn("Planifier la cure", text)
        # the override reason is a clinic manager's field: not in her form at all
        self.assertNotIn(self.french[override], text)

    def test_audit_workbook_in_french(self):
        session = self._session(self.patient, [(self.vial, 4.0)])
        session.action_done()
        self.env["stock.warehouse.orderpoint"].create(
            {
                "product_id": self.vial.product_variant_id.id,
                "warehouse_id": self.warehouse.id,
                "product_min_qty": 5,
                "product_max_qty": 10,
            }
        )
        wizard = (
            self.env["meso.audit.export"]
            .with_env(self._env(self.manager))
            # every sheet, the adverse events' (medical data, only when asked) included
            .create({"warehouse_id": self.warehouse.id, "include_adverse_events": True})
        )
        wizard.action_export()
        book = load_workbook(io.BytesIO(base64.b64decode(wizard.file_data)))
        units = set(book.sheetnames)
        for sheet in book.worksheets:
            if sheet.sheet_state != "visible":
                continue
            for part in (sheet.oddHeader, sheet.oddFooter):
                units |= {
                    section.text for section in (part.left, part.center, part.right) if section.text
                }
            units |= {
                cell.strip()
                for row in sheet.iter_rows(values_only=True)
                for cell in row
                if isinstance(cell, str)
            }
        text = "\n".join(units)
        self.assertEqual(
            book.sheetnames[:7],
            [
                "Synthèse",
                "Stock par lot",
                "Péremption proche",
                "Consommation",
                "État du réapprovisionnement",
                "Feuille de comptage",
                "Rappel de lots",
            ],
        )
        expected = {
            msgid
            for msgid, entry in self.own.items()
            if any(where == COLLECTOR for where, _line in entry.occurrences)
        } - {"yes", "no"}  # values, not headers
        self.assertIn("Days of cover", expected)
        self.assertFalse({msgid for msgid in expected if self.french.get(msgid) not in units})
        self.assertIn("oui", units)  # the vial is below its minimum
        self.assertIn("Audit de stock", units)
        self.assertTrue(any(unit.startswith("Exporté le ") for unit in units))
        self.assertIn("Page &P sur &N", text)
        self.assertFalse(self._english_left(units, text), "workbook terms left in English")

    def test_refusals_in_french(self):
        env = self._env(self.practitioner)
        empty = self._session(self.patient, [])
        with self.assertRaises(UserError) as refusal:
            empty.with_env(env).action_done()
        self.assertEqual(
            str(refusal.exception),
            f"Ajoutez les flacons injectés lors de la séance {empty.name} avant de la terminer.",
        )
        pregnant = self._create_patient("Julie Petit", is_pregnant=True)
        session = self._session(pregnant, [(self.vial, 2.0)])
        with self.assertRaises(UserError) as refusal:
            session.with_env(env).action_done()
        self.assertEqual(
            str(refusal.exception),
            f"La séance {session.name} de Julie Petit ne peut pas avoir lieu :\n- enceinte\n"
            "Un responsable de clinique peut enregistrer un motif de dérogation pour poursuivre.",
        )

    def test_daily_digest_in_the_clinics_language(self):
        buyer = self._create_user("achats", "purchase.group_purchase_user")
        buyer.email = "achats@clinique-lumiere.example"
        self.company.write(
            {"meso_purchase_responsible_id": buyer.id, "email": "contact@clinique-lumiere.example"}
        )
        self.company.partner_id.lang = "fr_FR"
        self.env["stock.warehouse.orderpoint"].create(
            {
                "product_id": self.vial.product_variant_id.id,
                "warehouse_id": self.warehouse.id,
                "product_min_qty": 10,
                "product_max_qty": 20,
            }
        )
        # the scheduler runs without a language of its own
        mails = self.env(context={})["stock.warehouse.orderpoint"]._cron_meso_reorder_digest()
        mail = mails.filtered(lambda m: m.model == "res.company" and m.res_id == self.company.id)
        self.assertEqual(len(mail), 1)
        self.assertEqual(mail.subject, "Clinique Lumière : 1 flacon(s) sous leur minimum")
        body = _words(mail.body_html)
        self.assertIn("Ces flacons ont moins de stock utilisable", body)
        self.assertIn("Prévision (demandes de prix en cours incluses)", body)
        self.assertNotIn("These vials", body)
        self.assertNotIn("Forecast", body)
        self.assertIn("Booster AH 2 ml", body)
