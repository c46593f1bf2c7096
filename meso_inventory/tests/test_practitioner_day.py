"""The practitioner's day, with her own login: the sessions screen opens on her sessions
of today, the calendar names the patient and the area, and a session line offers only
the lots she can use in her clinic at the session's date."""

from datetime import datetime, time, timedelta
from types import SimpleNamespace

import pytz
from dateutil.relativedelta import relativedelta
from freezegun import freeze_time
from lxml import etree

from odoo import fields
from odoo.tests import Form, tagged
from odoo.tools.safe_eval import safe_eval

from .common import MesoCommon

NOW = datetime(2026, 5, 13, 9, 0)  # a Wednesday, 11:00 in Paris
SESSION = "meso.treatment.session"


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestPractitionerDay(MesoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vial = cls._create_vial()
        cls.other_vial = cls._create_vial("Vitamin C 2 ml")
        cls.practitioner = cls._create_user("day-practitioner", "meso_inventory.group_practitioner")
        cls.colleague = cls._create_user("day-colleague", "meso_inventory.group_practitioner")
        (cls.practitioner | cls.colleague).tz = "Europe/Paris"
        cls.patient = cls._create_patient()
        cls.face = cls.env["meso.formulation"].create(
            {
                "name": "Claire: face hydration",
                "patient_id": cls.patient.id,
                "treatment_area": "face",
                "line_ids": [
                    (0, 0, {"product_id": cls.vial.product_variant_id.id, "volume_ml": 2})
                ],
            }
        )
        cls.pregnant = cls._create_patient("Amélie Dubois", is_pregnant=True)

        def session(when, user=None, patient=None, **values):
            return cls._session(
                patient or cls.patient,
                [(cls.vial, 2.0)],
                date=when,
                practitioner_id=(user or cls.practitioner).id,
                **values,
            )

        cls.mine_today = session(NOW, formulation_id=cls.face.id)
        cls.mine_contraindicated = session(NOW + timedelta(hours=2), patient=cls.pregnant)
        # 00:30 and 23:30 in Paris: today for her, though not in UTC
        cls.mine_after_midnight = session(datetime(2026, 5, 12, 22, 30))
        cls.mine_before_midnight = session(datetime(2026, 5, 12, 21, 30))
        cls.mine_tomorrow = session(NOW + timedelta(days=1))
        cls.mine_next_week = session(NOW + timedelta(days=7))
        cls.colleague_today = session(NOW, user=cls.colleague)

        # lots of the vial, and where their vials are
        cls.annexe = cls.env["stock.warehouse"].create(
            {"name": "Annexe", "code": "ANX", "company_id": cls.company.id}
        )
        cls.good = cls._create_lot(cls.vial, "HA-GOOD", 365, now=NOW)
        cls._stock(cls.good, 4)
        cls.short_lived = cls._create_lot(cls.vial, "HA-SHORT", 5, now=NOW)
        cls._stock(cls.short_lived, 3)
        cls.expired = cls._create_lot(cls.vial, "HA-EXPIRED", -1, now=NOW)
        cls._stock(cls.expired, 2)
        cls.quarantined = cls._create_lot(cls.vial, "HA-QUARANTINE", 365, now=NOW)
        cls.env["stock.quant"]._update_available_quantity(
            cls.quarantined.product_id,
            cls.warehouse.meso_quarantine_location_id,
            5,
            lot_id=cls.quarantined,
        )
        cls.elsewhere = cls._create_lot(cls.vial, "HA-ANNEXE", 365, now=NOW)
        cls.env["stock.quant"]._update_available_quantity(
            cls.elsewhere.product_id, cls.annexe.lot_stock_id, 5, lot_id=cls.elsewhere
        )
        cls.other_product = cls._create_lot(cls.other_vial, "VC-GOOD", 365, now=NOW)
        cls._stock(cls.other_product, 4)

    # -- helpers -------------------------------------------------------------
    def _web_eval_context(self, user):
        """What the web client evaluates a search filter's domain with, for this user
        (datetime.combine(...).to_utc() turns her local midnight into UTC)."""
        tz = pytz.timezone(user.tz)

        class LocalDatetime(datetime):
            def to_utc(self):
                return tz.localize(self.replace(tzinfo=None)).astimezone(pytz.utc)

        return {
            "uid": user.id,
            "context_today": lambda: datetime.now(pytz.utc).astimezone(tz).date(),
            "datetime": SimpleNamespace(datetime=LocalDatetime, time=time),
            "relativedelta": relativedelta,
        }

    def _filter_domain(self, user, names):
        Session = self.env[SESSION].with_user(user)
        arch = etree.fromstring(Session.get_views([(False, "search")])["views"]["search"]["arch"])
        domain = []
        for name in names:
            (node,) = arch.xpath(f"//filter[@name='{name}']")
            domain += safe_eval(node.get("domain"), self._web_eval_context(user))
        return domain

    def _landing(self, user):
        """The sessions menu's action as she opens it, and the filters it sets."""
        action = (
            self.env["ir.actions.act_window"]
            .with_user(user)
            ._for_xml_id("meso_inventory.meso_treatment_session_action")
        )
        context = safe_eval(action["context"], {"uid": user.id})
        defaults = sorted(
            key.removeprefix("search_default_")
            for key, value in context.items()
            if key.startswith("search_default_") and value
        )
        return action, defaults

    def _spec(self, user, view_type):
        """web_search_read's specification for the fields a view shows her."""
        views = self.env[SESSION].with_user(user).get_views([(False, view_type)])
        arch = etree.fromstring(views["views"][view_type]["arch"])
        known = views["models"][SESSION]["fields"]
        names = {node.get("name") for node in arch.iter("field")} & set(known)
        return {
            name: {"fields": {"display_name": {}}} if known[name]["type"] == "many2one" else {}
            for name in names
        }

    # -- the landing screen -----------------------------------------------------
    def test_landing_is_her_sessions_of_today(self):
        action, defaults = self._landing(self.practitioner)
        self.assertEqual(defaults, ["my_sessions", "today"])
        self.assertEqual(action["view_mode"].split(",")[0], "list")
        Session = self.env[SESSION].with_user(self.practitioner)
        domain = self._filter_domain(self.practitioner, defaults)
        today = self.mine_today | self.mine_contraindicated | self.mine_after_midnight
        self.assertEqual(Session.search(domain), today)
        # the list, the kanban and the calendar read for her, without Inventory rights
        self.assertFalse(self.practitioner.has_group("stock.group_stock_user"))
        for view_type in ("list", "kanban", "calendar"):
            spec = self._spec(self.practitioner, view_type)
            rows = Session.web_search_read(domain, spec, order="date")["records"]
            self.assertEqual([row["id"] for row in rows], today.sorted("date").ids, view_type)
        list_spec = self._spec(self.practitioner, "list")
        self.assertLessEqual(
            {"date", "patient_id", "treatment_area", "formulation_id", "contraindication_badge"},
            set(list_spec),
        )
        rows = {row["id"]: row for row in Session.web_search_read(domain, list_spec)["records"]}
        self.assertEqual(rows[self.mine_today.id]["treatment_area"], "face")
        self.assertFalse(rows[self.mine_today.id]["contraindication_badge"])
        self.assertEqual(
            rows[self.mine_contraindicated.id]["contraindication_badge"], "Contraindicated"
        )
        # Complete is in the row
        list_arch = etree.fromstring(Session.get_views([(False, "list")])["views"]["list"]["arch"])
        self.assertTrue(list_arch.xpath("//button[@name='action_done']"))
        # the other filters of the set
        week = self._filter_domain(self.practitioner, ["my_sessions", "this_week"])
        self.assertEqual(
            Session.search(week),
            today | self.mine_before_midnight | self.mine_tomorrow,
        )
        everyone_today = self._filter_domain(self.practitioner, ["today"])
        self.assertEqual(Session.search(everyone_today), today | self.colleague_today)
        # her colleague lands on hers
        colleague_domain = self._filter_domain(self.colleague, defaults)
        self.assertEqual(
            self.env[SESSION].with_user(self.colleague).search(colleague_domain),
            self.colleague_today,
        )

    def test_her_day_completes_from_the_list(self):
        self.assertEqual(self.mine_contraindicated.contraindication_badge, "Contraindicated")
        self.mine_today.with_user(self.practitioner).action_done()
        self.assertEqual(self.mine_today.state, "done")
        # first expired, first out: the lot expiring in five days
        self.assertEqual(self.mine_today.lot_ids, self.short_lived)
        self.assertFalse(self.mine_today.contraindication_badge)

    def test_calendar_names_patient_and_area(self):
        Session = self.env[SESSION].with_user(self.practitioner)
        self.assertEqual(Session.browse(self.mine_today.id).calendar_name, "Claire Martin — Face")
        # no formulation, no area: the patient alone
        self.assertEqual(
            Session.browse(self.mine_contraindicated.id).calendar_name, "Amélie Dubois"
        )
        arch = etree.fromstring(
            Session.get_views([(False, "calendar")])["views"]["calendar"]["arch"]
        )
        self.assertEqual(arch.get("create_name_field"), "calendar_name")
        self.assertEqual(arch.get("color"), "calendar_color")
        colors = {
            state: Session.new({"state": state}).calendar_color
            for state in ("planned", "done", "cancelled")
        }
        self.assertEqual(len(set(colors.values())), 3, colors)
        self.assertNotIn(0, colors.values())

    def test_new_session_reads_new_until_saved(self):
        form = Form(self.env[SESSION].with_user(self.practitioner))
        self.assertEqual(form.name, "New")
        form.patient_id = self.patient
        session = form.save()
        self.assertNotIn(session.name, ("New", "/"))
        self.assertTrue(session.name.startswith("MS/"), session.name)
        self.assertEqual(session.practitioner_id, self.practitioner)

    # -- the lot dropdown -------------------------------------------------------
    def _offered(self, product, warehouse, when, user=None):
        """The lots the session line's dropdown offers, as the form asks for them."""
        Line = self.env["meso.treatment.session.line"]
        domain = safe_eval(
            Line._fields["lot_id"].domain, {"product_id": product.product_variant_id.id}
        )
        Lot = (
            self.env["stock.lot"]
            .with_user(user or self.practitioner)
            .with_context(
                meso_warehouse_id=warehouse.id, meso_at_date=fields.Datetime.to_string(when)
            )
        )
        return dict(Lot.name_search("", domain))

    def test_lot_dropdown_offers_usable_lots_only(self):
        # the form gives the lot field the session's clinic and date
        form_arch = etree.fromstring(
            self.env[SESSION]
            .with_user(self.practitioner)
            .get_views([(False, "form")])["views"]["form"]["arch"]
        )
        (lot_field,) = form_arch.xpath("//field[@name='line_ids']//field[@name='lot_id']")
        self.assertIn("meso_warehouse_id", lot_field.get("context"))
        self.assertIn("meso_at_date", lot_field.get("context"))
        self.assertTrue(form_arch.xpath("//field[@name='warehouse_id']"))

        today = self._offered(self.vial, self.warehouse, NOW)
        self.assertEqual(
            today,
            {
                self.good.id: "HA-GOOD · exp. 2027-05-13 · 4 usable",
                self.short_lived.id: "HA-SHORT · exp. 2026-05-18 · 3 usable",
            },
        )
        # a session in ten days: HA-SHORT will have expired by then
        later = self._offered(self.vial, self.warehouse, NOW + timedelta(days=10))
        self.assertEqual(list(later), [self.good.id])
        # never: the expired lot, the quarantined one, another vial's
        for lot in (self.expired, self.quarantined, self.other_product):
            self.assertNotIn(lot.id, today)
        # the annexe's lot is the annexe's
        self.assertNotIn(self.elsewhere.id, today)
        self.assertEqual(
            self._offered(self.vial, self.annexe, NOW),
            {self.elsewhere.id: "HA-ANNEXE · exp. 2027-05-13 · 5 usable"},
        )

    def test_lot_dropdown_counts_unreserved_vials(self):
        Lot = self.env["stock.lot"].with_context(meso_warehouse_id=self.warehouse.id)
        lots = Lot.browse((self.good | self.short_lived).ids)
        self.assertEqual(lots.mapped("meso_usable_qty"), [4, 3])
        self._delivery(self.vial, 1)  # reserves one vial
        lots.invalidate_recordset(["meso_usable_qty"])
        self.assertEqual(sum(lots.mapped("meso_usable_qty")), 6)
        offered = self._offered(self.vial, self.warehouse, NOW)
        self.assertEqual(
            sorted(offered.values()),
            sorted(
                f"{lot.name} · exp. {lot.expiration_date.date()} · {lot.meso_usable_qty:g} usable"
                for lot in lots
            ),
        )
        # without the clinic in the context, a lot is named as everywhere else
        self.assertEqual(self.good.with_user(self.practitioner).display_name, "HA-GOOD")

    def test_planned_course_stays_with_her(self):
        done = self._session(
            self.patient,
            [(self.vial, 2.0)],
            date=NOW - timedelta(days=7),
            practitioner_id=self.practitioner.id,
            formulation_id=self.face.id,
        )
        done.sudo().state = "done"
        manager = self._create_user("day-manager", "meso_inventory.group_manager")
        self.face.with_user(manager).action_plan_course()
        planned = self.face.session_ids.filtered(lambda s: s.state == "planned")
        self.assertTrue(planned)
        self.assertEqual(planned.practitioner_id, self.practitioner)
        # a first course goes to whoever plans it
        fresh = self.face.copy({"name": "Claire: neck", "treatment_area": "neck"})
        fresh.with_user(manager).action_plan_course()
        self.assertEqual(fresh.session_ids.practitioner_id, manager)
