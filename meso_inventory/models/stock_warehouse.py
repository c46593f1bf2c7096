import json
import logging
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from time import monotonic

import pytz
from psycopg2.extensions import TRANSACTION_STATUS_IDLE

from odoo import Command, api, fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

DASHBOARD_WEEKS = 12
DASHBOARD_COVER_RULES = 5


class StockWarehouse(models.Model):
    _inherit = "stock.warehouse"

    meso_consumption_type_id = fields.Many2one(
        "stock.picking.type", "Treatment consumption type", check_company=True
    )
    meso_quarantine_location_id = fields.Many2one(
        "stock.location",
        "Quarantine",
        check_company=True,
        help="Where expired vials wait to be scrapped: outside the stock, so never picked.",
    )
    meso_consumption_location_id = fields.Many2one(
        "stock.location",
        "Treatment consumption location",
        check_company=True,
        help="Where the vials injected in this clinic go: the clinic's own place under "
        "Patient consumption, so that clinics consuming the same lot never share a quant.",
    )

    # the clinic manager's dashboard: one card per clinic
    meso_expiring_lot_count = fields.Integer(
        "Lots expiring within 30 days", compute="_compute_meso_dashboard"
    )
    meso_below_min_count = fields.Integer(
        "Vials with usable stock below minimum", compute="_compute_meso_dashboard"
    )
    meso_open_rfq_count = fields.Integer("Open RFQs", compute="_compute_meso_dashboard")
    meso_session_today_count = fields.Integer("Sessions today", compute="_compute_meso_dashboard")
    meso_waste_month_ml = fields.Float(
        "Single-use waste this month (ml)", compute="_compute_meso_dashboard"
    )
    meso_discarded_month_ml = fields.Float(
        "Discarded from opened vials this month (ml)", compute="_compute_meso_dashboard"
    )

    # what a manager looks at every morning: each figure opens the list it adds up
    meso_currency_id = fields.Many2one(related="company_id.currency_id")
    meso_injected_ml = fields.Float(
        "Injected over the last 12 weeks (ml)", compute="_compute_meso_dashboard_charts"
    )
    meso_injected_chart = fields.Text(compute="_compute_meso_dashboard_charts")
    meso_expiring_30_value = fields.Monetary(
        "Stock value expiring within 30 days",
        currency_field="meso_currency_id",
        compute="_compute_meso_dashboard_charts",
    )
    meso_expiring_90_value = fields.Monetary(
        "Stock value expiring within 90 days",
        currency_field="meso_currency_id",
        compute="_compute_meso_dashboard_charts",
    )
    meso_cover_chart = fields.Text(compute="_compute_meso_dashboard_charts")

    def _compute_meso_dashboard_charts(self):
        for warehouse in self:
            weeks = warehouse._meso_injected_by_week()
            warehouse.meso_injected_ml = sum(ml for _start, _end, ml in weeks)
            warehouse.meso_injected_chart = json.dumps(
                {
                    "type": "bar",
                    "label": self.env._("ml injected"),
                    "labels": [
                        fields.Date.to_string(warehouse._meso_local(start).date())[5:]
                        for start, _end, _ml in weeks
                    ],
                    "values": [round(ml, 2) for _start, _end, ml in weeks],
                    "keys": list(range(len(weeks))),
                    "method": "action_meso_open_injected_week",
                }
            )
            for days in (30, 90):
                quants = self.env["stock.quant"].search(
                    warehouse._meso_expiring_quants_domain(days)
                )
                warehouse[f"meso_expiring_{days}_value"] = sum(quants.mapped("meso_value"))
            rules = warehouse._meso_lowest_cover_orderpoints()
            warehouse.meso_cover_chart = json.dumps(
                {
                    "type": "bar",
                    "horizontal": True,
                    "label": self.env._("days of cover"),
                    "labels": [
                        rule.product_id.default_code or rule.product_id.name for rule in rules
                    ],
                    "values": [round(rule.meso_days_of_cover, 1) for rule in rules],
                    "keys": rules.ids,
                    "method": "action_meso_open_cover_rule",
                }
            )

    def _meso_local(self, utc_datetime):
        """A stored (UTC) datetime in the dashboard's timezone, naive."""
        return pytz.utc.localize(utc_datetime).astimezone(self._meso_tz()).replace(tzinfo=None)

    def _meso_tz(self):
        return pytz.timezone(self.env.context.get("tz") or self.env.user.tz or "UTC")

    def _meso_week_bounds(self):
        """[(start, end)] in UTC of the last 12 weeks, Monday to Monday in the user's
        timezone, the current week last."""
        tz = self._meso_tz()
        today = self._meso_local(fields.Datetime.now()).date()
        monday = today - timedelta(days=today.weekday())
        bounds = []
        for index in range(DASHBOARD_WEEKS - 1, -1, -1):
            start, end = (
                tz.localize(datetime.combine(monday - timedelta(weeks=n), time()))
                .astimezone(pytz.utc)
                .replace(tzinfo=None)
                for n in (index, index - 1)
            )
            bounds.append((start, end))
        return bounds

    def _meso_injected_domain(self, start, end):
        return [
            ("session_id.warehouse_id", "=", self.id),
            ("session_state", "=", "done"),
            ("date", ">=", start),
            ("date", "<", end),
        ]

    def _meso_injected_by_week(self):
        """[(start, end, ml)] of the last 12 weeks: one grouped read by local day."""
        self.ensure_one()
        bounds = self._meso_week_bounds()
        tz = self._meso_tz().zone
        groups = (
            self.env["meso.treatment.consumption"]
            .with_context(tz=tz)
            ._read_group(
                self._meso_injected_domain(bounds[0][0], bounds[-1][1]),
                ["date:day"],
                ["volume_ml:sum"],
            )
        )
        first_day = self._meso_local(bounds[0][0]).date()
        totals = [0.0] * len(bounds)
        for day_start, ml in groups:
            day = day_start.date() if isinstance(day_start, datetime) else day_start
            totals[(day - first_day).days // 7] += ml
        return [(start, end, ml) for (start, end), ml in zip(bounds, totals, strict=True)]

    def _meso_expiring_quants_domain(self, days):
        now = fields.Datetime.now()
        return [
            ("product_id.meso_is_vial", "=", True),
            ("location_id", "child_of", self.lot_stock_id.id),
            ("quantity", ">", 0),
            ("lot_id.expiration_date", ">", now),
            ("lot_id.expiration_date", "<=", now + timedelta(days=days)),
        ]

    def _meso_lowest_cover_orderpoints(self):
        """The vials in use with the fewest days of cover, fewest first."""
        rules = self.env["stock.warehouse.orderpoint"].search(
            [
                ("warehouse_id", "=", self.id),
                ("product_id.meso_is_vial", "=", True),
                ("meso_avg_daily_use", ">", 0),
            ]
        )
        return rules.sorted(lambda rule: (rule.meso_days_of_cover, rule.id))[:DASHBOARD_COVER_RULES]

    def _compute_meso_dashboard(self):
        for warehouse in self:
            domains = warehouse._meso_dashboard_domains()
            warehouse.meso_expiring_lot_count = self.env["stock.lot"].search_count(
                domains["expiring"]
            )
            warehouse.meso_below_min_count = len(warehouse._meso_below_min_orderpoints())
            warehouse.meso_open_rfq_count = self.env["purchase.order"].search_count(
                domains["open_rfqs"]
            )
            warehouse.meso_session_today_count = self.env["meso.treatment.session"].search_count(
                domains["sessions_today"]
            )
            # each tile is the sum of the list it opens
            warehouse.meso_waste_month_ml = (
                self.env["meso.treatment.consumption"]._read_group(
                    domains["waste"], [], ["waste_ml:sum"]
                )[0][0]
                or 0.0
            )
            warehouse.meso_discarded_month_ml = (
                self.env["meso.opened.vial"]._read_group(
                    domains["discarded"], [], ["waste_ml:sum"]
                )[0][0]
                or 0.0
            )

    def _meso_dashboard_domains(self):
        self.ensure_one()
        # midnight in the user's timezone, in UTC like the stored datetimes
        now = fields.Datetime.now()
        local_now = fields.Datetime.context_timestamp(self, now).replace(tzinfo=None)
        day_start = now - (local_now - local_now.replace(hour=0, minute=0, second=0, microsecond=0))
        month_start = day_start - timedelta(days=local_now.day - 1)
        return {
            "expiring": [
                ("product_id.meso_is_vial", "=", True),
                ("meso_expiry_bucket", "in", ("expired", "lt30")),
                ("quant_ids.location_id", "child_of", self.lot_stock_id.id),
                ("quant_ids.quantity", ">", 0),
            ],
            "open_rfqs": [
                ("state", "in", ("draft", "sent", "to approve")),
                ("picking_type_id.warehouse_id", "=", self.id),
                ("order_line.product_id.meso_is_vial", "=", True),
            ],
            "sessions_today": [
                ("warehouse_id", "=", self.id),
                ("state", "!=", "cancelled"),
                ("date", ">=", day_start),
                ("date", "<", day_start + timedelta(days=1)),
            ],
            "waste": [
                ("session_id.warehouse_id", "=", self.id),
                ("session_state", "=", "done"),
                ("date", ">=", month_start),
                ("waste_ml", ">", 0),
            ],
            # when the vial was thrown away, not when its record was last touched
            "discarded": [
                ("company_id", "=", self.company_id.id),
                ("session_id.warehouse_id", "=", self.id),
                ("state", "=", "discarded"),
                ("discarded_at", ">=", month_start),
            ],
        }

    def _meso_below_min_orderpoints(self):
        return (
            self.env["stock.warehouse.orderpoint"]
            .search([("warehouse_id", "=", self.id), ("product_id.meso_is_vial", "=", True)])
            ._meso_below_min()
        )

    def _meso_dashboard_action(self, xmlid, domain, context=None):
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        action.update(domain=domain, context=context or {})
        return action

    def action_meso_open_expiring(self):
        self.ensure_one()
        return self._meso_dashboard_action(
            "meso_inventory.stock_lot_action_expiry",
            self._meso_dashboard_domains()["expiring"],
            {"search_default_group_by_expiry_bucket": 1},
        )

    def action_meso_open_below_min(self):
        self.ensure_one()
        return self._meso_dashboard_action(
            "meso_inventory.stock_warehouse_orderpoint_action",
            [("id", "in", self._meso_below_min_orderpoints().ids)],
        )

    def action_meso_open_rfqs(self):
        self.ensure_one()
        return self._meso_dashboard_action(
            "purchase.purchase_rfq", self._meso_dashboard_domains()["open_rfqs"]
        )

    def action_meso_open_sessions_today(self):
        self.ensure_one()
        return self._meso_dashboard_action(
            "meso_inventory.meso_treatment_session_action",
            self._meso_dashboard_domains()["sessions_today"],
        )

    def action_meso_open_discarded(self):
        self.ensure_one()
        return self._meso_dashboard_action(
            "meso_inventory.meso_opened_vial_action",
            self._meso_dashboard_domains()["discarded"],
            {"search_default_group_by_product": 1},
        )

    def action_meso_open_injected(self):
        self.ensure_one()
        bounds = self._meso_week_bounds()
        return self._meso_dashboard_action(
            "meso_inventory.meso_treatment_consumption_action",
            self._meso_injected_domain(bounds[0][0], bounds[-1][1]),
            {"group_by": ["date:week"]},
        )

    def action_meso_open_injected_week(self, week):
        """The consumption of one of the chart's weeks (0: the oldest)."""
        self.ensure_one()
        start, end = self._meso_week_bounds()[int(week)]
        return self._meso_dashboard_action(
            "meso_inventory.meso_treatment_consumption_action",
            self._meso_injected_domain(start, end),
        )

    def action_meso_open_expiring_30(self):
        self.ensure_one()
        return self._meso_dashboard_action(
            "meso_inventory.stock_quant_action_meso_expiring_value",
            self._meso_expiring_quants_domain(30),
        )

    def action_meso_open_expiring_90(self):
        self.ensure_one()
        return self._meso_dashboard_action(
            "meso_inventory.stock_quant_action_meso_expiring_value",
            self._meso_expiring_quants_domain(90),
        )

    def action_meso_open_low_cover(self):
        self.ensure_one()
        return self._meso_dashboard_action(
            "meso_inventory.stock_warehouse_orderpoint_action",
            [("id", "in", self._meso_lowest_cover_orderpoints().ids)],
        )

    def action_meso_open_cover_rule(self, orderpoint_id):
        """One bar of the cover chart: that vial's rule, if it is still among them."""
        self.ensure_one()
        return self._meso_dashboard_action(
            "meso_inventory.stock_warehouse_orderpoint_action",
            [("id", "=", int(orderpoint_id)), ("warehouse_id", "=", self.id)],
        )

    def action_meso_open_waste(self):
        self.ensure_one()
        return self._meso_dashboard_action(
            "meso_inventory.meso_treatment_consumption_action_waste",
            self._meso_dashboard_domains()["waste"],
            {"search_default_group_by_product": 1},
        )

    @api.model_create_multi
    def create(self, vals_list):
        warehouses = super().create(vals_list)
        warehouses._meso_set_fefo()
        for warehouse in warehouses:
            warehouse._meso_consumption_location()
        return warehouses

    def _meso_set_fefo(self):
        """Vials leave the clinic's stock first-expired, first-out."""
        fefo = self.env.ref("product_expiry.removal_fefo")
        self.lot_stock_id.filtered(lambda loc: not loc.removal_strategy_id).write(
            {"removal_strategy_id": fefo.id}
        )

    def _get_locations_values(self, vals, code=False):
        values = super()._get_locations_values(vals, code=code)
        code = (vals.get("code") or code or "").replace(" ", "").upper()
        company_id = vals.get("company_id", self.default_get(["company_id"])["company_id"])
        values["meso_quarantine_location_id"] = {
            "name": self.env._("Quarantine"),
            "active": True,
            "usage": "internal",
            "replenish_location": False,
            "barcode": self._valid_barcode(code + "QUARANTINE", company_id),
        }
        return values

    def _get_sequence_values(self, name=False, code=False):
        values = super()._get_sequence_values(name=name, code=code)
        values["meso_consumption_type_id"] = {
            "name": self.env._("%(name)s Treatment consumption", name=self.name),
            "prefix": f"{self.code}/{self.meso_consumption_type_id.sequence_code or 'TRT'}/",
            "padding": 5,
            "company_id": self.company_id.id,
        }
        return values

    def _get_picking_type_update_values(self):
        values = super()._get_picking_type_update_values()
        # Created on first use (or when the module is installed or updated), not with
        # every warehouse: code that looks up "the" outgoing type of a new warehouse by
        # its code keeps finding the delivery type alone.
        if self.meso_consumption_type_id or self.env.context.get("meso_create_consumption_type"):
            values["meso_consumption_type_id"] = {
                "default_location_src_id": self.lot_stock_id.id,
                "default_location_dest_id": self._meso_consumption_location().id,
            }
        return values

    def _get_picking_type_create_values(self, max_sequence):
        values, max_sequence = super()._get_picking_type_create_values(max_sequence)
        values["meso_consumption_type_id"] = {
            "name": self.env._("Treatment consumption"),
            "code": "outgoing",
            "default_location_src_id": self.lot_stock_id.id,
            "default_location_dest_id": self._meso_consumption_location().id,
            "sequence": max_sequence + 1,
            "sequence_code": "TRT",
            "use_create_lots": False,
            "use_existing_lots": True,
            "company_id": self.company_id.id,
        }
        return values, max_sequence + 2

    def _meso_consumption_location(self):
        """The clinic's consumption location, created when missing: outside the
        warehouse (consumption leaves its stock), under the shared Patient consumption."""
        self.ensure_one()
        if not self.meso_consumption_location_id:
            self.sudo().meso_consumption_location_id = (
                self.env["stock.location"]
                .sudo()
                .create(
                    {
                        "name": self.code or self.name,
                        "usage": "customer",
                        "location_id": self.env.ref(
                            "meso_inventory.stock_location_patient_consumption"
                        ).id,
                        "company_id": self.company_id.id,
                    }
                )
            )
        return self.meso_consumption_location_id

    def _meso_consumption_type(self):
        """The clinic's "Treatment consumption" operation type, created when missing."""
        self.ensure_one()
        if not self.meso_consumption_type_id:
            warehouse = self.sudo().with_context(meso_create_consumption_type=True)
            warehouse.write(warehouse._create_or_update_sequences_and_picking_types())
        return self.meso_consumption_type_id

    @contextmanager
    def _meso_stock_locking(self):
        """The phase in which a completion, a cancellation or a recall reads what it
        shares with the others and waits for them (_meso_lock_stock_keys), before its
        own work. Yields the environment to read in: this one.

        Under PostgreSQL's REPEATABLE READ a transaction sees the database as of its first
        query, so the wait must come before it. When this transaction has not queried the
        database yet (an XML-RPC call, a job), or has only read (in the web client
        ir.http authenticates the request first; it then restarts, losing nothing), the
        phase runs on this transaction's connection in autocommit: each statement sees
        what the transactions waited for committed, the keys are held at session level
        across the phase, and its end moves them into the transaction that starts then,
        which releases them when it commits or rolls back. When this transaction wrote
        first, it cannot restart: it waits where it is, and a conflict is left to Odoo's
        retry. In tests (one transaction for the whole test) the keys are taken where
        they would be, with no competitor to wait for.

        The phase only reads: in autocommit, a write would be committed at once."""
        cr = self.env.cr
        if "meso_locking" in cr.cache:
            yield self.env
            return
        if not self._meso_may_wait_before_snapshot():
            cr.cache["meso_locking"] = None
            try:
                yield self.env
            finally:
                del cr.cache["meso_locking"]
            return
        cnx = cr._cnx
        cnx.autocommit = True
        cr.cache["meso_locking"] = held = set()
        try:
            yield self.env
        except BaseException:
            # including keys a statement took before it failed
            if not cnx.closed:
                cr.execute("SELECT pg_advisory_unlock_all()")
            raise
        finally:
            del cr.cache["meso_locking"]
            if not cnx.closed:
                cnx.autocommit = False
        # what was read during the phase (committed then) is read again in the
        # transaction's own snapshot
        self.env.invalidate_all(flush=False)
        self._meso_hold_until_transaction_ends(held)

    def _meso_may_wait_before_snapshot(self):
        """Whether this transaction can still wait before taking its snapshot: it has not
        queried the database yet, or it has only read and restarts now, losing nothing.
        Not in tests (one transaction for the whole test)."""
        if self.env.registry.in_test_mode():
            return False
        self.env.flush_all()
        cr = self.env.cr
        if cr._cnx.info.transaction_status == TRANSACTION_STATUS_IDLE:
            return True
        cr.execute("SELECT txid_current_if_assigned() IS NULL")
        if not cr.fetchone()[0]:
            return False
        cr.rollback()
        return True

    def _meso_hold_until_transaction_ends(self, keys):
        """Move the keys held at session level into the transaction starting now (its
        first statement), without a moment where they are not held: it releases them
        when it commits or rolls back."""
        if not keys:
            return
        cr = self.env.cr
        try:
            cr.execute(
                SQL(
                    "SELECT %s",
                    SQL(", ").join(
                        SQL("pg_advisory_xact_lock(%s, %s), pg_advisory_unlock(%s, %s)", *key, *key)
                        for key in sorted(keys)
                    ),
                )
            )
        except Exception:
            # (a cancelled statement) the keys are still held at session level, and would
            # outlive this transaction: let them go before the error goes on
            cr.rollback()
            cr.execute("SELECT pg_advisory_unlock_all()")
            raise

    def _meso_lock_stock_keys(self, keys):
        """Wait for the transactions sharing these keys, then hold them until this one
        ends. `keys`: (clinic id, vial id) for a vial's stock in a clinic (its quants, its
        open vials, its reordering rule), (-company id, vendor id) for a vendor's RFQ.

        Two completions drawing from the same quants and open vials side by side would
        end with one failing on a serialization error once the other commits (Odoo then
        redoes the whole request after a random pause). So a completion, a cancellation
        or a recall first waits for the others that share its keys, then works on a
        snapshot taken after they committed (see _meso_stock_locking). The keys are
        advisory locks, taken in one statement in sorted order (a stable order rules out
        deadlocks), on this transaction's own connection (PostgreSQL sees any deadlock
        through it). A transaction taking keys again holds them already (advisory locks
        are re-entrant). Readers (reports, exports) are never blocked."""
        keys = sorted(set(keys))
        if not keys:
            return
        cr = self.env.cr
        if "meso_locking" not in cr.cache:
            with self._meso_stock_locking():
                self._meso_lock_stock_keys(keys)
            return
        held = cr.cache["meso_locking"]
        if held is None:
            lock = "pg_advisory_xact_lock(%s, %s)"
        else:
            keys = [key for key in keys if key not in held]
            if not keys:
                return
            lock = "pg_advisory_lock(%s, %s)"
        start = monotonic()
        cr.execute(SQL("SELECT %s", SQL(", ").join(SQL(lock, *key) for key in keys)))
        # how long the others held this one back (at DEBUG: the benchmark reads it)
        _logger.debug("stock keys %s held after %.1f ms", keys, (monotonic() - start) * 1000)
        if held is not None:
            held.update(keys)

    def _meso_quarantine_expired(self):
        """Move every expired vial out of the clinic's stock into its quarantine, one
        validated internal transfer per clinic, so that nothing can pick them."""
        now = fields.Datetime.now()
        pickings = self.env["stock.picking"]
        for warehouse in self:
            quants = self.env["stock.quant"].search(
                [
                    ("location_id", "child_of", warehouse.lot_stock_id.id),
                    ("product_id.meso_is_vial", "=", True),
                    ("lot_id.expiration_date", "<=", now),
                    ("quantity", ">", 0),
                ]
            )
            pickings |= warehouse._meso_move_to_quarantine(quants, self.env._("Expired vials"))
        return pickings

    def _meso_move_to_quarantine(self, quants, origin):
        """One validated internal transfer of these quants of the clinic's stock to its
        quarantine (expired or recalled vials), the move lines naming each quant's lot."""
        self.ensure_one()
        if not quants:
            return self.env["stock.picking"]
        self.env["meso.treatment.session"]._meso_release_lots(quants.lot_id, self, origin)
        quarantine = self.meso_quarantine_location_id
        picking = self.env["stock.picking"].create(
            {
                "picking_type_id": self.int_type_id.id,
                "location_id": self.lot_stock_id.id,
                "location_dest_id": quarantine.id,
                "origin": origin,
                "company_id": self.company_id.id,
                "move_ids": [
                    Command.create(
                        {
                            "name": product.display_name,
                            "product_id": product.id,
                            "product_uom": product.uom_id.id,
                            "product_uom_qty": sum(
                                quants.filtered(lambda q, p=product: q.product_id == p).mapped(
                                    "quantity"
                                )
                            ),
                            "location_id": self.lot_stock_id.id,
                            "location_dest_id": quarantine.id,
                            "company_id": self.company_id.id,
                        }
                    )
                    for product in quants.product_id
                ],
            }
        )
        picking.action_confirm()
        for move in picking.move_ids:
            move._do_unreserve()
            move.move_line_ids = [
                Command.create(
                    {
                        "product_id": quant.product_id.id,
                        "product_uom_id": quant.product_id.uom_id.id,
                        "lot_id": quant.lot_id.id,
                        "quantity": quant.quantity,
                        "location_id": quant.location_id.id,
                        "location_dest_id": quarantine.id,
                        "picking_id": picking.id,
                    }
                )
                for quant in quants.filtered(lambda q, m=move: q.product_id == m.product_id)
            ]
        picking.move_ids.picked = True
        picking.with_context(skip_expired=True, skip_backorder=True).button_validate()
        return picking

    @api.model
    def _meso_setup_clinics(self):
        """Existing warehouses get what new ones get: FEFO and a consumption type."""
        # a handful of warehouses, once at install (post_init_hook; the demo calls it first)
        warehouses = self.with_context(active_test=False).search([])  # pylint: disable=no-search-all
        warehouses._meso_set_fefo()
        warehouses._create_missing_locations({})
        for warehouse in warehouses:
            if warehouse.meso_consumption_type_id:
                # a clinic set up before the consumption locations existed
                warehouse.meso_consumption_type_id.default_location_dest_id = (
                    warehouse._meso_consumption_location()
                )
            else:
                warehouse._meso_consumption_type()
