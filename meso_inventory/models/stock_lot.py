from collections import defaultdict
from datetime import timedelta

from markupsafe import escape

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.osv import expression
from odoo.tools import float_compare

EXPIRY_BUCKETS = [
    ("expired", "Expired"),
    ("lt30", "Within 30 days"),
    ("lt90", "Within 90 days"),
    ("later", "Later"),
    ("none", "No expiry date"),
]
# Upper bound (days from now) of each dated bucket, soonest first.
BUCKET_HORIZONS = [("expired", 0), ("lt30", 30), ("lt90", 90)]


class StockLot(models.Model):
    _inherit = "stock.lot"

    # who moved a lot's dates, and when, stays in its chatter
    expiration_date = fields.Datetime(tracking=True)
    use_date = fields.Datetime(tracking=True)
    removal_date = fields.Datetime(tracking=True)
    alert_date = fields.Datetime(tracking=True)
    meso_is_vial = fields.Boolean(related="product_id.meso_is_vial")
    meso_expiry_bucket = fields.Selection(
        EXPIRY_BUCKETS,
        "Expiry",
        compute="_compute_meso_expiry_bucket",
        store=True,
        group_expand="_group_expand_meso_expiry_bucket",
        help="Refreshed daily and whenever the expiration date changes.",
    )
    meso_days_to_expiry = fields.Integer("Days to expiry", compute="_compute_meso_days_to_expiry")

    meso_quarantine_qty = fields.Float(
        "In quarantine",
        compute="_compute_meso_quarantine_qty",
        search="_search_meso_quarantine_qty",
        digits="Product Unit of Measure",
    )
    meso_session_count = fields.Integer("Patients treated", compute="_compute_meso_session_count")
    meso_usable_qty = fields.Float(
        "Usable",
        compute="_compute_meso_usable_qty",
        search="_search_meso_usable_qty",
        digits="Product Unit of Measure",
        help="Unreserved vials in the clinic's stock (context meso_warehouse_id, else every "
        "clinic of the company) not expired at the date of context meso_at_date (else now); "
        "quarantine is outside the stock.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        # Declared with its decorator so that external clients (XML-RPC, JSON-RPC)
        # can create lots: stock_account's override in this 18.0 build lacks it.
        return super().create(vals_list)

    @api.depends_context("meso_warehouse_id", "meso_at_date")
    def _compute_display_name(self):
        """Offered to a session line (context meso_warehouse_id), a lot says when it
        expires and how many vials of it the clinic can use."""
        super()._compute_display_name()
        if not self.env.context.get("meso_warehouse_id"):
            return
        for lot in self:
            quantity = format(lot.meso_usable_qty, "g")
            if not lot.expiration_date:
                lot.display_name = self.env._(
                    "%(lot)s · no expiry · %(qty)s usable", lot=lot.name, qty=quantity
                )
                continue
            lot.display_name = self.env._(
                "%(lot)s · exp. %(date)s · %(qty)s usable",
                lot=lot.name,
                date=fields.Date.to_string(fields.Date.context_today(self, lot.expiration_date)),
                qty=quantity,
            )

    def _meso_usable_context(self):
        """The clinic stock locations and the date the usable quantity is judged at."""
        context = self.env.context
        warehouses = self.env["stock.warehouse"].browse(context.get("meso_warehouse_id"))
        if not warehouses:
            warehouses = warehouses.search([("company_id", "in", self.env.companies.ids)])
        at_date = fields.Datetime.to_datetime(context.get("meso_at_date")) or fields.Datetime.now()
        return warehouses.lot_stock_id, at_date

    def _meso_usable_quantities(self, lot_domain):
        """{lot id: unreserved vials in the clinic stock}, for the lots of lot_domain not
        expired at the date (see _meso_usable_context)."""
        locations, at_date = self._meso_usable_context()
        if not locations:
            return {}
        groups = self.env["stock.quant"]._read_group(
            expression.AND(
                [
                    [("lot_id", "any", lot_domain)],
                    [("location_id", "child_of", locations.ids)],
                    [
                        "|",
                        ("lot_id.expiration_date", "=", False),
                        ("lot_id.expiration_date", ">", at_date),
                    ],
                ]
            ),
            ["lot_id"],
            ["quantity:sum", "reserved_quantity:sum"],
        )
        return {
            lot.id: quantity - reserved
            for lot, quantity, reserved in groups
            if float_compare(quantity, reserved, precision_rounding=lot.product_uom_id.rounding) > 0
        }

    @api.depends_context("meso_warehouse_id", "meso_at_date")
    def _compute_meso_usable_qty(self):
        quantities = self._meso_usable_quantities([("id", "in", self.ids)])
        for lot in self:
            lot.meso_usable_qty = quantities.get(lot.id, 0.0)

    def _search_meso_usable_qty(self, operator, value):
        if operator not in (">", "!=") or value not in (0, 0.0, False):
            raise UserError(self.env._("Search usable lots with “Usable > 0”."))
        return [("id", "in", list(self._meso_usable_quantities([])))]

    def _meso_quarantine_quants(self, any_lot=False):
        """Quants of these lots (or of any lot) waiting in a clinic's quarantine."""
        locations = (
            self.env["stock.warehouse"]
            .with_context(active_test=False)
            .search([("meso_quarantine_location_id", "!=", False)])
            .meso_quarantine_location_id
        )
        domain = [("location_id", "in", locations.ids), ("quantity", ">", 0)]
        if not any_lot:
            domain.append(("lot_id", "in", self.ids))
        return self.env["stock.quant"].search(domain)

    def _compute_meso_quarantine_qty(self):
        quantities = defaultdict(float)
        for quant in self._meso_quarantine_quants():
            quantities[quant.lot_id.id] += quant.quantity
        for lot in self:
            lot.meso_quarantine_qty = quantities[lot.id]

    def _search_meso_quarantine_qty(self, operator, value):
        if operator not in (">", "!=") or value not in (0, 0.0, False):
            raise UserError(self.env._("Search lots in quarantine with “In quarantine > 0”."))
        return [("id", "in", self._meso_quarantine_quants(any_lot=True).lot_id.ids)]

    def action_meso_scrap_quarantine(self):
        """Scrap what of these lots waits in quarantine: a clinic manager's act."""
        if not self.env.user.has_group("meso_inventory.group_manager"):
            raise AccessError(self.env._("Only a clinic manager can scrap quarantined vials."))
        self.check_access("read")
        # Scrapping needs Inventory administrator rights on scraps and valuation; the
        # manager's right was checked above, the lots are ones she may read, and sudo()
        # keeps her uid on the scrap orders.
        quants = self.sudo()._meso_quarantine_quants()
        if not quants:
            raise UserError(self.env._("Nothing of these lots is in quarantine."))
        for quant in quants:
            scrap = (
                self.env["stock.scrap"]
                .sudo()
                .create(
                    {
                        "product_id": quant.product_id.id,
                        "lot_id": quant.lot_id.id,
                        "scrap_qty": quant.quantity,
                        "product_uom_id": quant.product_id.uom_id.id,
                        "location_id": quant.location_id.id,
                        "company_id": quant.company_id.id,
                        "origin": self.env._("Expired, from quarantine"),
                    }
                )
            )
            scrap.action_validate()
        return True

    @api.model
    def _cron_meso_expiry(self):
        """Daily: alert of lots at their alert date (product_expiry's alert, once per lot)
        and quarantine what has expired."""
        self._alert_date_exceeded()
        warehouses = self.env["stock.warehouse"].search(
            [("meso_quarantine_location_id", "!=", False)]
        )
        warehouses._meso_quarantine_expired()
        return True

    @api.model
    def _alert_date_exceeded(self):
        """product_expiry's alert, for vials: every clinic manager of the lot's company
        (or the company's expiry contact) is told what expires, how much and when. The
        lots are marked reminded as Odoo does, so Odoo's own loop skips them and each
        lot is alerted once."""
        lots = (
            self.env["stock.quant"]
            .search(
                [
                    ("product_id.meso_is_vial", "=", True),
                    ("lot_id.alert_date", "<=", fields.Datetime.now()),
                    ("lot_id.product_expiry_reminded", "=", False),
                    ("location_id.usage", "=", "internal"),
                    ("quantity", ">", 0),
                ]
            )
            .lot_id
        )
        activity_type = self.env.ref("product_expiry.mail_activity_type_alert_date_reached")
        for lot in lots:
            note = escape(
                self.env._(
                    "%(qty)s of %(product)s in lot %(lot)s expire on %(date)s.",
                    qty=lot.product_uom_id._meso_format_quantity(lot.product_qty),
                    product=lot.product_id.display_name,
                    lot=lot.name,
                    date=fields.Date.to_string(lot.expiration_date),
                )
            )
            users = (lot.company_id or self.env.company)._meso_expiry_users()
            for user in users or self.env.user:
                lot.activity_schedule(activity_type_id=activity_type.id, user_id=user.id, note=note)
        lots.product_expiry_reminded = True
        return super()._alert_date_exceeded()

    def _compute_meso_session_count(self):
        groups = self.env["meso.treatment.consumption"]._read_group(
            [("lot_id", "in", self.ids), ("session_state", "=", "done")],
            ["lot_id"],
            ["patient_id:count_distinct"],
        )
        counts = {lot.id: count for lot, count in groups}
        for lot in self:
            lot.meso_session_count = counts.get(lot.id, 0)

    def action_view_meso_sessions(self):
        """Recall: every completed session, and so every patient, that received this lot."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "meso_inventory.meso_treatment_session_action"
        )
        action.update(
            name=self.env._("Patients treated with lot %(lot)s", lot=self.name),
            # cancelled sessions stay listed: their rows show the vials' return
            domain=[("consumption_ids.lot_id", "=", self.id)],
            context={"create": False},
        )
        return action

    @api.model
    def _group_expand_meso_expiry_bucket(self, buckets, domain):
        """Groups in the order of urgency, not alphabetically."""
        return [bucket for bucket, _label in EXPIRY_BUCKETS if bucket in buckets]

    @api.model
    def _meso_bucket_of(self, expiration_date, now):
        if not expiration_date:
            return "none"
        for bucket, days in BUCKET_HORIZONS:
            if expiration_date <= now + timedelta(days=days):
                return bucket
        return "later"

    @api.depends("expiration_date")
    def _compute_meso_expiry_bucket(self):
        now = fields.Datetime.now()
        for lot in self:
            lot.meso_expiry_bucket = self._meso_bucket_of(lot.expiration_date, now)

    @api.depends("expiration_date")
    def _compute_meso_days_to_expiry(self):
        today = fields.Date.context_today(self)
        for lot in self:
            lot.meso_days_to_expiry = (
                (fields.Date.to_date(lot.expiration_date) - today).days
                if lot.expiration_date
                else 0
            )

    @api.model
    def _cron_refresh_expiry_bucket(self):
        """Move lots whose bucket changed with the passing of time, in one search."""
        now = fields.Datetime.now()
        domains = []
        lower = None
        for bucket, days in BUCKET_HORIZONS:
            upper = now + timedelta(days=days)
            window = [("expiration_date", "<=", upper)]
            if lower:
                window.append(("expiration_date", ">", lower))
            domains.append(window + [("meso_expiry_bucket", "!=", bucket)])
            lower = upper
        domains.append([("expiration_date", ">", lower), ("meso_expiry_bucket", "!=", "later")])
        stale = self.with_context(active_test=False).search(expression.OR(domains))
        self.env.add_to_compute(self._fields["meso_expiry_bucket"], stale)
        stale.flush_recordset(["meso_expiry_bucket"])
        return True
