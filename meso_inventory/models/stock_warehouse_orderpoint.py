import math
from collections import defaultdict
from datetime import datetime, timedelta

from markupsafe import escape
from psycopg2.extras import execute_values

from odoo import Command, api, fields, models
from odoo.tools import SQL, float_compare, float_is_zero, float_round

from .meso_number_check_mixin import check_numbers

NUMBER_BOUNDS = {"product_min_qty": (0, 1e6), "product_max_qty": (0, 1e6), "qty_multiple": (0, 1e6)}


class StockWarehouseOrderpoint(models.Model):
    _inherit = "stock.warehouse.orderpoint"

    meso_is_vial = fields.Boolean(related="product_id.meso_is_vial")
    meso_auto_threshold = fields.Boolean(
        "Learn from usage",
        help="Minimum and maximum are recomputed from the average daily consumption: "
        "min = daily use × (the rule's lead time + safety days), "
        "max = min + daily use × review period.",
    )
    meso_avg_daily_use = fields.Float(
        "Daily use",
        digits=(16, 4),
        readonly=True,
        help="Average vials consumed per day over the look-back window (updated daily).",
    )
    meso_use_per_week = fields.Float(
        "Use per week",
        compute="_compute_meso_use_per_week",
        digits=(16, 1),
        help="Vials consumed per week on average over the look-back window.",
    )
    meso_unusable_qty = fields.Float(
        "Will expire unused",
        compute="_compute_qty",
        digits="Product Unit of Measure",
        help="On hand in lots that expire before they can be used at the current daily use.",
    )
    meso_threshold_note = fields.Char(
        "Learning",
        readonly=True,
        help="What the last learning from usage did with this rule's thresholds.",
    )
    meso_usable_qty = fields.Float(
        "Usable on hand", compute="_compute_qty", digits="Product Unit of Measure"
    )
    meso_days_of_cover = fields.Float(
        "Days of cover",
        compute="_compute_qty",
        digits=(16, 0),
        help="Days the usable stock lasts at the current use; empty while the vial is not used.",
    )
    meso_open_rfq_qty = fields.Float(
        "Open RFQs", compute="_compute_meso_open_rfq_qty", digits="Product Unit of Measure"
    )

    @api.depends("meso_avg_daily_use")
    def _compute_meso_use_per_week(self):
        for orderpoint in self:
            orderpoint.meso_use_per_week = orderpoint.meso_avg_daily_use * 7

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            check_numbers(self, vals, NUMBER_BOUNDS)
        return super().create(vals_list)

    def write(self, vals):
        check_numbers(self, vals, NUMBER_BOUNDS)
        return super().write(vals)

    # ------------------------------------------------------------------
    # Usable stock: what expires before it can be used does not count
    # ------------------------------------------------------------------
    def _compute_qty(self):
        res = super()._compute_qty()
        unusable = self.filtered(lambda op: op.product_id.meso_is_vial)._meso_unusable_quantities()
        for orderpoint in self:
            lost = unusable.get(orderpoint.id, 0.0)
            orderpoint.meso_unusable_qty = lost
            orderpoint.meso_usable_qty = orderpoint.qty_on_hand - lost
            orderpoint.qty_forecast -= lost
            daily = orderpoint.meso_avg_daily_use
            orderpoint.meso_days_of_cover = (
                orderpoint.meso_usable_qty / daily if daily > 0 else False
            )
        return res

    def _meso_unusable_quantities(self):
        """{orderpoint id: quantity} of stock that will expire before its turn comes,
        consuming lots FEFO at the orderpoint's daily use. One grouped read per location
        (the completion's bound reads the same in SQL, see _meso_may_fall_below)."""
        result = {}
        now = fields.Datetime.now()
        for location in self.location_id:
            orderpoints = self.filtered(lambda op, location=location: op.location_id == location)
            groups = self.env["stock.quant"]._read_group(
                [
                    ("product_id", "in", orderpoints.product_id.ids),
                    ("location_id", "child_of", location.id),
                ],
                ["product_id", "lot_id"],
                ["quantity:sum"],
            )
            lots_by_product = defaultdict(list)
            for product, lot, quantity in groups:
                if lot and quantity > 0:
                    lots_by_product[product].append((lot.expiration_date, quantity))
            for orderpoint in orderpoints:
                result[orderpoint.id] = self._meso_expiring_unused(
                    lots_by_product[orderpoint.product_id], orderpoint.meso_avg_daily_use, now
                )
        return result

    @api.model
    def _meso_expiring_unused(self, lots, daily_use, now):
        """Quantity of [(expiration date, quantity)] that expires before being used."""
        unused = 0.0
        used_before = 0.0
        for expiry, quantity in sorted(lots, key=lambda lot: lot[0] or datetime.max):
            if not expiry:
                continue
            if expiry <= now:
                unused += quantity
                continue
            if daily_use <= 0:
                continue  # no usage yet: nothing to predict
            days_left = (expiry - now).total_seconds() / 86400
            usable = min(max(daily_use * days_left - used_before, 0.0), quantity)
            used_before += usable
            unused += quantity - usable
        return unused

    def _get_qty_to_order(self, force_visibility_days=False, qty_in_progress_by_orderpoint=None):
        if not self.product_id:
            # a rule being created has no product, hence no unit and no rounding yet;
            # Odoo's own method would compare with a rounding of 0 and fail
            return 0.0
        qty = super()._get_qty_to_order(
            force_visibility_days=force_visibility_days,
            qty_in_progress_by_orderpoint=qty_in_progress_by_orderpoint or {},
        )
        if not self.product_id.meso_is_vial:
            return qty
        rounding = self.product_uom.rounding
        below_min = (
            float_compare(self.qty_forecast, self.product_min_qty, precision_rounding=rounding) < 0
        )
        if below_min and self.meso_unusable_qty:
            # Odoo counts expiring lots as stock; refill what they will not cover
            qty += self.meso_unusable_qty
        if float_compare(qty, 0.0, precision_rounding=rounding) <= 0:
            return qty
        return self._meso_purchasable_qty(qty)

    def _meso_purchasable_qty(self, qty):
        """At least the vendor's minimum, in whole purchase units."""
        product = self.product_id
        seller = (
            self.supplier_id
            or product._select_seller(quantity=qty, uom_id=product.uom_id)
            or product.seller_ids[:1]
        )
        purchase_uom = seller.product_uom or product.uom_po_id
        if seller.min_qty:
            qty = max(qty, purchase_uom._compute_quantity(seller.min_qty, self.product_uom))
        unit = purchase_uom._compute_quantity(1.0, self.product_uom)
        if unit > 1:
            qty = math.ceil(float_round(qty / unit, precision_digits=6)) * unit
        return qty

    def _meso_format_qty(self, quantity):
        """A quantity of this rule's vial, in its unit, for people to read ("4 Vials")."""
        self.ensure_one()
        return self.product_uom._meso_format_quantity(quantity)

    def _meso_below_min(self):
        """The vial rules whose usable stock (on hand, less what will expire unused) is
        below the minimum: the one definition of "below minimum" used by the dashboard,
        the daily digest and the audit export's Summary."""
        return self.filtered(
            lambda op: (
                float_compare(
                    op.meso_usable_qty,
                    op.product_min_qty,
                    precision_rounding=op.product_uom.rounding,
                )
                < 0
            )
        )

    def _compute_meso_open_rfq_qty(self):
        rfqs = self._meso_open_rfqs()
        for orderpoint in self:
            orderpoint.meso_open_rfq_qty = rfqs.get(orderpoint.id, (0.0, None))[0]

    def _meso_open_rfqs(self):
        """{orderpoint id: (quantity, purchase orders)} of the RFQs not yet confirmed that
        these rules created or topped up, in one grouped read."""
        return {
            orderpoint.id: (qty, orders)
            for orderpoint, qty, orders in self.env["purchase.order.line"]._read_group(
                [
                    ("orderpoint_id", "in", self.ids),
                    ("order_id.state", "in", ("draft", "sent", "to approve")),
                ],
                ["orderpoint_id"],
                ["product_qty:sum", "order_id:recordset"],
            )
        }

    # ------------------------------------------------------------------
    # Reorder at once when a session crosses the minimum
    # ------------------------------------------------------------------
    def _meso_sessions(self, sessions):
        """Those of `sessions` that take this rule's vial in its clinic."""
        self.ensure_one()
        return sessions.filtered(
            lambda session: (
                session.warehouse_id == self.warehouse_id
                and self.product_id in session.line_ids.product_id
            )
        )

    def _meso_open_rfq_snapshot(self):
        """Open RFQ quantity of these rules, taken before a session consumes."""
        return {op.id: op.meso_open_rfq_qty for op in self}

    def _meso_replenish_after(self, sessions, rfq_before):
        """Reorder now every one of these rules the sessions took below its minimum (in
        place of Odoo's trigger at the moves' confirmation, see stock.move), then alert
        purchasing about the RFQs that grew. The nightly scheduler is only the safety net.
        These rules: those the sessions may take below their minimum, found while their
        keys were taken (meso.treatment.session._meso_lock_stock)."""
        orderpoints = self
        orderpoints.invalidate_recordset()
        below = orderpoints.filtered(
            lambda op: (
                float_compare(
                    op.qty_forecast, op.product_min_qty, precision_rounding=op.product_uom.rounding
                )
                < 0
            )
        )
        if below:
            # a session never fails because purchasing cannot happen: what could not be
            # ordered is told to purchasing below, and Odoo logs its own exception
            for company in below.company_id:
                below.filtered(
                    lambda op, c=company: op.company_id == c
                )._procure_orderpoint_confirm(company_id=company, raise_user_error=False)
            orderpoints.invalidate_recordset()
        reordered = orderpoints.filtered(
            lambda op: (
                float_compare(
                    op.meso_open_rfq_qty,
                    rfq_before.get(op.id, 0.0),
                    precision_rounding=op.product_uom.rounding,
                )
                > 0
            )
        )
        forecasts = {
            op: op.qty_forecast - (op.meso_open_rfq_qty - rfq_before.get(op.id, 0.0))
            for op in reordered
        }
        reordered._meso_alert_purchasing(sessions, forecasts)
        (below - reordered)._meso_alert_not_ordered(sessions)
        return reordered

    @api.model
    def _meso_may_fall_below(self, taken):
        """The automatic rules whose forecast may fall below their minimum once `taken`
        ({(warehouse id, product id): quantity} about to leave, beyond the moves already
        planned) has left. Odoo's forecast (on hand, plus what arrives and less what
        leaves by the lead date, plus the RFQs in progress; less, here, what will expire
        unused) is never lower than the usable stock less everything still to leave the
        rule's location, at any date: a rule whose bound stays at or above its minimum
        needs no forecast. Most completions leave every rule well above it, and the bound
        is one statement where the forecast computes each rule's lead times: the rules,
        their stock lot by lot and what is to leave them (stock.product's outgoing
        quantities, at any date)."""
        taken = {key: quantity for key, quantity in taken.items() if quantity}
        if not taken:
            return self.browse()
        self.env.flush_all()
        # one statement with few joins (its planning costs more than its execution): each
        # rule's quants lot by lot, and what is to leave (summed once per rule, not once
        # per lot)
        self.env.cr.execute(
            SQL(
                """
                SELECT op.id, op.warehouse_id, op.product_id, op.product_min_qty,
                       COALESCE(op.meso_avg_daily_use, 0), q.expiration_date, q.lot,
                       q.on_hand, leaving.quantity
                  FROM stock_warehouse_orderpoint op
                  JOIN stock_location loc ON loc.id = op.location_id
                 CROSS JOIN LATERAL (
                      SELECT SUM(m.product_qty) AS quantity
                        FROM stock_move m
                        JOIN stock_location src ON src.id = m.location_id
                        JOIN stock_location dst ON dst.id = m.location_dest_id
                       WHERE m.product_id = op.product_id
                         AND m.state IN ('waiting', 'confirmed', 'assigned',
                                         'partially_available')
                         AND starts_with(src.parent_path, loc.parent_path)
                         AND NOT starts_with(dst.parent_path, loc.parent_path)
                  ) leaving
                  LEFT JOIN LATERAL (
                      SELECT lot.expiration_date, q.lot_id IS NOT NULL AS lot,
                             SUM(q.quantity) AS on_hand
                        FROM stock_quant q
                        JOIN stock_location l ON l.id = q.location_id
                        LEFT JOIN stock_lot lot ON lot.id = q.lot_id
                       WHERE q.product_id = op.product_id
                         AND starts_with(l.parent_path, loc.parent_path)
                       GROUP BY q.lot_id, lot.expiration_date
                  ) q ON TRUE
                 WHERE op.active AND op.trigger = 'auto'
                   AND (op.warehouse_id, op.product_id) IN %(keys)s
                """,
                keys=tuple(taken),
            )
        )
        rules = {}
        for (
            rule_id,
            warehouse_id,
            product_id,
            minimum,
            daily_use,
            expiry,
            lot,
            on_hand,
            leaving,
        ) in self.env.cr.fetchall():
            rule = rules.setdefault(
                rule_id,
                {
                    "taken": taken[warehouse_id, product_id],
                    "minimum": minimum,
                    "daily_use": daily_use,
                    "on_hand": 0.0,
                    # the same on each of the rule's rows
                    "leaving": leaving or 0.0,
                    "lots": [],
                },
            )
            rule["on_hand"] += on_hand or 0.0
            if lot and on_hand > 0:
                rule["lots"].append((expiry, on_hand))
        now = fields.Datetime.now()
        return self.browse(
            rule_id
            for rule_id, rule in rules.items()
            if float_compare(
                rule["on_hand"]
                - rule["leaving"]
                - self._meso_expiring_unused(rule["lots"], rule["daily_use"], now)
                - rule["taken"],
                rule["minimum"],
                # finer than any unit's rounding: a rule Odoo's forecast (rounded to its
                # unit) finds below its minimum is always found here
                precision_digits=6,
            )
            < 0
        )

    def _meso_vendor_keys(self):
        """Lock keys (-company id, vendor id) of the RFQs these rules would add to: their
        vial's vendors for the rule's company (stock.warehouse._meso_lock_stock_keys)."""
        keys = set()
        for orderpoint in self:
            vendors = orderpoint.product_id.seller_ids.filtered(
                lambda seller, op=orderpoint: (
                    seller.company_id in (op.company_id, self.env["res.company"])
                )
            ).partner_id
            keys.update((-orderpoint.company_id.id, vendor.id) for vendor in vendors)
        return keys

    def _meso_alert_not_ordered(self, sessions):
        """Rules the session took below their minimum but for which no RFQ could be made
        (typically: the vial has no vendor): purchasing is told what is missing."""
        if not self:
            return
        activity_type = self.env.ref("mail.mail_activity_data_warning")
        for orderpoint in self:
            product = orderpoint.product_id
            has_vendor = orderpoint.supplier_id or product.seller_ids.filtered(
                lambda seller, op=orderpoint: (
                    seller.company_id in (op.company_id, self.env["res.company"])
                )
            )
            missing = (
                self.env._("the vial has a vendor; see the vial's activities for Odoo's reason")
                if has_vendor
                else self.env._("the vial has no vendor: add one on its Purchase tab")
            )
            note = escape(
                self.env._(
                    "%(product)s fell below its minimum (%(min)s) in %(clinic)s after session "
                    "%(session)s, but no RFQ could be created: %(missing)s.",
                    product=product.display_name,
                    min=orderpoint._meso_format_qty(orderpoint.product_min_qty),
                    clinic=orderpoint.warehouse_id.name,
                    session=", ".join(orderpoint._meso_sessions(sessions).mapped("name")),
                    missing=missing,
                )
            )
            template = product.product_tmpl_id
            for user in orderpoint.company_id._meso_purchasing_users() or self.env.user:
                template.activity_schedule(
                    activity_type_id=activity_type.id, user_id=user.id, note=note
                )

    def _meso_alert_purchasing(self, sessions, forecasts):
        if not self:
            return
        lines = self.env["purchase.order.line"].search(
            [("orderpoint_id", "in", self.ids), ("order_id.state", "in", ("draft", "sent"))]
        )
        activity_type = self.env.ref("meso_inventory.mail_activity_type_reorder_alert")
        for order in lines.order_id:
            order_lines = lines.filtered(lambda line, order=order: line.order_id == order)
            crossings = [
                self.env._(
                    "%(product)s: forecast down to %(forecast)s (minimum %(min)s) after "
                    "session %(session)s; %(qty)s now on this RFQ",
                    product=line.product_id.display_name,
                    forecast=line.orderpoint_id._meso_format_qty(forecasts[line.orderpoint_id]),
                    min=line.orderpoint_id._meso_format_qty(line.orderpoint_id.product_min_qty),
                    session=", ".join(line.orderpoint_id._meso_sessions(sessions).mapped("name")),
                    qty=line.product_uom._meso_format_quantity(line.product_qty),
                )
                for line in order_lines
            ]
            order._message_log(
                body=escape(self.env._("Reorder alert: ")) + escape("; ".join(crossings))
            )
            alerted = order.activity_ids.filtered(
                lambda a: a.activity_type_id == activity_type
            ).user_id
            for user in order.company_id._meso_purchasing_users() - alerted:
                order.activity_schedule(
                    activity_type_id=activity_type.id,
                    user_id=user.id,
                    note=escape("; ".join(crossings)),
                )

    @api.model
    def _cron_meso_reorder_digest(self):
        """Daily e-mail to purchasing (a mail.template): every vial still below its
        minimum, per company."""
        template = self.env.ref("meso_inventory.mail_template_reorder_digest")
        mails = self.env["mail.mail"]
        orderpoints = self.search(
            [("product_id.meso_is_vial", "=", True), ("trigger", "=", "auto")]
        )
        for company in orderpoints.company_id:
            below = orderpoints.filtered(
                lambda op, company=company: op.company_id == company
            )._meso_below_min()
            recipients = company._meso_purchasing_users().partner_id.filtered("email")
            if below and recipients:
                mails |= mails.browse(
                    template.with_context(meso_orderpoints=below).send_mail(
                        company.id,
                        email_values={"recipient_ids": [Command.set(recipients.ids)]},
                    )
                )
        return mails

    # ------------------------------------------------------------------
    # Thresholds learned from usage
    # ------------------------------------------------------------------
    def action_meso_learn_thresholds(self):
        """Recompute daily use, and min/max where learning is on, for these rules."""
        rules = self or self.search([("product_id.meso_is_vial", "=", True)])
        # the rules are rewritten in one UPDATE (_meso_learn_thresholds): whoever presses
        # the button must be allowed to write every one of them
        rules.check_access("write")
        changes = rules._meso_learn_thresholds()
        return self._meso_learning_notification(changes)

    @api.model
    def _meso_learning_notification(self, changes, shown=10):
        """What the learning changed, old → new, for whoever pressed the button; the
        list reloads when the message is shown."""
        lines = [
            self.env._(
                "%(vial)s (%(clinic)s): min %(old_min)s → %(new_min)s, max %(old_max)s → "
                "%(new_max)s",
                vial=orderpoint.product_id.display_name,
                clinic=orderpoint.warehouse_id.name,
                old_min=orderpoint.product_uom._meso_format_quantity(old_min, with_unit=False),
                new_min=orderpoint.product_uom._meso_format_quantity(new_min, with_unit=False),
                old_max=orderpoint.product_uom._meso_format_quantity(old_max, with_unit=False),
                new_max=orderpoint._meso_format_qty(new_max),
            )
            for orderpoint, old_min, old_max, new_min, new_max in changes[:shown]
        ]
        if len(changes) > shown:
            lines.append(
                self.env._(
                    "… and %(count)s more: each rule's form says what it learned.",
                    count=len(changes) - shown,
                )
            )
        if changes:
            title = self.env._("Thresholds changed on %(count)s rule(s)", count=len(changes))
            message = "\n".join(lines)
        else:
            title = self.env._("No threshold changed")
            message = self.env._(
                "Daily use is up to date; rules learning from usage keep their minimum and "
                "maximum (each rule's form says why)."
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": message,
                "type": "success" if changes else "info",
                "sticky": bool(changes),
                "className": "o_meso_notification_lines",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    @api.model
    def _cron_meso_learn_thresholds(self):
        self.search([("product_id.meso_is_vial", "=", True)])._meso_learn_thresholds()
        return True

    def _meso_learn_thresholds(self):
        """One read of the rules and of their products, one lookup of stock rules per
        route setup (_meso_lead_days), one grouped read of treatment moves and one
        UPDATE per company, whatever the number of rules: records are read with a
        domain, in one query, rather than by id (which the ORM does 1,000 ids at a time).
        The UPDATE is measured against thousands of rules (bench/); write access is
        checked before it (the button) or the caller is the scheduler, and the fields it
        sets have no stored dependants.

        Returns [(rule, old min, old max, new min, new max)] of the rules it changed."""
        self.flush_model(["meso_avg_daily_use", "product_min_qty", "product_max_qty"])
        rules = self.with_context(active_test=False).search_fetch(
            [("id", "in", self.ids)],
            [
                "company_id",
                "product_id",
                "warehouse_id",
                "location_id",
                "route_id",
                "supplier_id",
                "meso_auto_threshold",
                "product_min_qty",
                "product_max_qty",
            ],
        )
        self.env["product.product"].with_context(active_test=False).search_fetch(
            [("id", "in", rules.product_id.ids)], ["product_tmpl_id"]
        )
        lead_days = rules.filtered("meso_auto_threshold")._meso_lead_days()
        changes = []
        for company in rules.company_id:
            orderpoints = rules.filtered(lambda op, company=company: op.company_id == company)
            usage = orderpoints._meso_daily_use(company)
            today = fields.Date.to_string(fields.Date.context_today(self))
            rows = []
            for orderpoint in orderpoints:
                daily = usage.get((orderpoint.product_id.id, orderpoint.warehouse_id.id), 0.0)
                minimum = maximum = note = None
                if orderpoint.meso_auto_threshold and float_is_zero(daily, precision_digits=6):
                    # no treatment in the window says nothing about tomorrow's: min = 0
                    # would stop reordering without anyone noticing
                    note = self.env._(
                        "No use in the last %(days)s days: thresholds kept (%(date)s).",
                        days=company.meso_usage_window_days,
                        date=today,
                    )
                elif orderpoint.meso_auto_threshold:
                    lead = lead_days[orderpoint.id]
                    minimum = math.ceil(float_round(daily * (lead + company.meso_safety_days), 6))
                    maximum = minimum + math.ceil(float_round(daily * company.meso_review_days, 6))
                    note = self.env._(
                        "Learned on %(date)s from a use of %(use)s a week and a lead time of "
                        "%(lead)s days.",
                        date=today,
                        use=orderpoint._meso_format_qty(daily * 7),
                        lead=format(lead, "g"),
                    )
                rows.append((orderpoint.id, daily, minimum, maximum, note))
                old = (orderpoint.product_min_qty, orderpoint.product_max_qty)
                if minimum is not None and old != (minimum, maximum):
                    changes.append((orderpoint, *old, minimum, maximum))
            # min <= max by construction, and nothing stored depends on these fields
            execute_values(
                self.env.cr._obj,
                """
                UPDATE stock_warehouse_orderpoint AS op
                   SET meso_avg_daily_use = v.daily,
                       product_min_qty = COALESCE(v.minimum, op.product_min_qty),
                       product_max_qty = COALESCE(v.maximum, op.product_max_qty),
                       meso_threshold_note = COALESCE(v.note, op.meso_threshold_note),
                       write_uid = v.uid,
                       write_date = now() AT TIME ZONE 'UTC'
                  FROM (VALUES %s) AS v(id, daily, minimum, maximum, note, uid)
                 WHERE op.id = v.id
                """,
                [(*row, self.env.uid) for row in rows],
                template="(%s, %s::numeric, %s::numeric, %s::numeric, %s::varchar, %s)",
                page_size=max(len(rows), 1),
            )
        self.invalidate_model(
            [
                "meso_avg_daily_use",
                "product_min_qty",
                "product_max_qty",
                "meso_threshold_note",
                "write_date",
            ]
        )
        return changes

    def _meso_lead_days(self):
        """{orderpoint id: days} from deciding to order to having the vials, as Odoo
        counts them for the rule's own lead_days_date: stock.rule._get_lead_days over
        the rules the orderpoint goes through (their delays, then with a Buy rule the
        vendor's lead time, the purchase security lead time and the days to purchase).

        Odoo finds those rules per orderpoint (_compute_rules), one search per product.
        Which rules it finds depends on the product only through its routes and its
        category's, so they are looked up once per location, rule route and such set
        of routes: the number of lookups follows the catalogue's route setups, not the
        number of rules."""
        rules_by_key = {}
        lead_days = {}
        for orderpoint in self.with_context(bypass_delay_description=True):
            product = orderpoint.product_id
            key = (
                orderpoint.location_id,
                orderpoint.route_id,
                product.route_ids | product.categ_id.total_route_ids,
            )
            if key not in rules_by_key:
                rules_by_key[key] = product._get_rules_from_location(
                    orderpoint.location_id, route_ids=orderpoint.route_id
                )
            delays, _description = rules_by_key[key]._get_lead_days(
                product, **orderpoint._get_lead_days_values()
            )
            lead_days[orderpoint.id] = delays["total_delay"]
        return lead_days

    def _meso_daily_use(self, company):
        """{(product id, warehouse id): average vials a day} over the company's window:
        sessions' consumption, less what cancelled sessions returned."""
        window = max(company.meso_usage_window_days, 1)
        since = fields.Datetime.now() - timedelta(days=window)
        groups = self.env["stock.move"]._read_group(
            [
                ("state", "=", "done"),
                ("meso_session_id", "!=", False),
                ("company_id", "=", company.id),
                ("product_id", "in", self.product_id.ids),
                ("date", ">=", since),
            ],
            ["product_id", "location_id", "location_dest_id"],
            ["product_qty:sum"],
        )
        net = defaultdict(float)
        for product, source, destination, quantity in groups:
            if source.usage == "internal":
                net[product.id, source.warehouse_id.id] += quantity
            elif destination.usage == "internal":
                net[product.id, destination.warehouse_id.id] -= quantity
        return {key: max(quantity, 0.0) / window for key, quantity in net.items()}
