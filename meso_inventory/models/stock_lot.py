from collections import defaultdict
from datetime import timedelta

from markupsafe import Markup, escape

from odoo import Command, api, fields, models
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
RECALL_STATES = [("none", "Not recalled"), ("recalled", "Recalled"), ("lifted", "Recall lifted")]
RECALL_KEYS = ("reference", "issuer", "reason")
MANAGER_GROUP = "meso_inventory.group_manager"


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

    # a recall notice (manufacturer or authority): written by action_meso_recall and
    # action_meso_lift_recall alone, tracked so that the chatter keeps the history
    meso_recall_state = fields.Selection(
        RECALL_STATES,
        "Recall",
        default="none",
        required=True,
        readonly=True,
        copy=False,
        tracking=True,
        index=True,
    )
    meso_recall_reference = fields.Char("Recall notice", readonly=True, copy=False, tracking=True)
    meso_recall_issuer = fields.Char(
        "Recalled by",
        readonly=True,
        copy=False,
        tracking=True,
        help="The manufacturer or the authority that issued the notice.",
    )
    meso_recall_reason = fields.Text("Recall reason", readonly=True, copy=False, tracking=True)
    meso_recall_date = fields.Date("Recalled on", readonly=True, copy=False, tracking=True)
    meso_recall_lifted_at = fields.Datetime(
        "Recall lifted on", readonly=True, copy=False, tracking=True
    )
    meso_adverse_event_ids = fields.Many2many(
        "meso.adverse.event",
        compute="_compute_meso_adverse_event_ids",
        string="Adverse events",
    )
    meso_adverse_event_count = fields.Integer(
        "Adverse event count", compute="_compute_meso_adverse_event_ids"
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

    # ------------------------------------------------------------------
    # Recall
    # ------------------------------------------------------------------
    def _meso_recall_label(self):
        """How a refusal names the recall of this lot."""
        self.ensure_one()
        return self.env._(
            "Lot %(lot)s of %(product)s is recalled (notice %(reference)s by %(issuer)s) and "
            "cannot be used.",
            lot=self.name,
            product=self.product_id.display_name,
            reference=self.meso_recall_reference or "-",
            issuer=self.meso_recall_issuer or "-",
        )

    def _meso_check_not_recalled(self):
        recalled = self.filtered(lambda lot: lot.meso_recall_state == "recalled")
        if recalled:
            raise UserError(recalled[0]._meso_recall_label())

    def _meso_check_recall_manager(self, message):
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(message)
        self.check_access("write")

    def _meso_prepare_recall_values(self, vals):
        """The lot's recall fields from the notice `vals` (reference, issuer, reason,
        optionally date); a notice missing one of them is refused whole."""
        missing = [key for key in RECALL_KEYS if not str(vals.get(key) or "").strip()]
        if missing:
            raise UserError(
                self.env._(
                    "A recall needs the notice's reference, issuer and reason (missing: "
                    "%(missing)s).",
                    missing=", ".join(missing),
                )
            )
        unknown = set(vals) - set(RECALL_KEYS) - {"date"}
        if unknown:
            raise UserError(
                self.env._("Unknown recall values: %(keys)s.", keys=", ".join(sorted(unknown)))
            )
        try:
            date = fields.Date.to_date(vals.get("date")) or fields.Date.context_today(self)
        except (TypeError, ValueError):
            raise UserError(
                self.env._("The recall date %(date)s is not a date.", date=vals.get("date"))
            ) from None
        return {
            "meso_recall_state": "recalled",
            "meso_recall_reference": vals["reference"].strip(),
            "meso_recall_issuer": vals["issuer"].strip(),
            "meso_recall_reason": vals["reason"].strip(),
            "meso_recall_date": date,
            "meso_recall_lifted_at": False,
        }

    def action_meso_recall(self, vals):
        """Recall these lots (a clinic manager's act, on a notice of the manufacturer or
        an authority): in every clinic of their company the stock goes to quarantine,
        open multi-dose vials are discarded, every patient who received them gets a
        follow-up for her practitioner, and purchasing is asked to return the stock."""
        self._meso_check_recall_manager(self.env._("Only a clinic manager can recall a lot."))
        if not self:
            raise UserError(self.env._("Choose the lots to recall."))
        values = self._meso_prepare_recall_values(vals or {})
        # a completion of these vials running now ends before the recall reads the stock,
        # or starts after it and finds the lot recalled
        self._meso_lock_recalled_stock()
        recalled = self.filtered(lambda lot: lot.meso_recall_state == "recalled")
        if recalled:
            raise UserError(self.env._("Lot %(lot)s is already recalled.", lot=recalled[0].name))
        self.write(values)
        for lot in self:
            lot._message_log(
                body=escape(
                    self.env._(
                        "Recalled by %(issuer)s, notice %(reference)s: %(reason)s",
                        issuer=lot.meso_recall_issuer,
                        reference=lot.meso_recall_reference,
                        reason=lot.meso_recall_reason,
                    )
                )
            )
        # The manager's right and her access to the lots were checked above. Quarantine
        # transfers, the opened vials and the activities need Inventory administrator
        # rights or are written by the addon's flows alone; sudo() keeps her uid on them.
        lots = self.sudo().with_context(meso_recalled_ok=True)
        lots._meso_quarantine_recalled()
        lots._meso_discard_recalled_vials()
        lots._meso_schedule_patient_followups()
        lots._meso_schedule_vendor_return()
        return True

    def _meso_recall_warehouses(self):
        """The clinics a recall of these lots reaches: every clinic of a lot's company,
        and for a lot shared between companies (a shared vial's lot has none), every
        clinic of the companies the recalling manager works for."""
        companies = self.company_id
        if any(not lot.company_id for lot in self):
            companies |= self.env.user.company_ids
        # every clinic of those companies, whichever the manager's current selection is:
        # her right to recall was checked, and only these clinics' stock is touched
        return self.env["stock.warehouse"].sudo().search([("company_id", "in", companies.ids)])

    def _meso_lock_recalled_stock(self):
        """Take the stock keys of the lots' vials in every clinic the recall reaches."""
        warehouses = self._meso_recall_warehouses()
        self.env["stock.warehouse"]._meso_lock_stock_keys(
            (warehouse.id, lot.product_id.id)
            for lot in self
            for warehouse in warehouses
            if not lot.company_id or warehouse.company_id == lot.company_id
        )

    def _meso_quarantine_recalled(self):
        """Every clinic the recall reaches moves the lots' stock to its quarantine."""
        pickings = self.env["stock.picking"]
        warehouses = self._meso_recall_warehouses().filtered("meso_quarantine_location_id")
        for warehouse in warehouses:
            quants = self.env["stock.quant"].search(
                [
                    ("location_id", "child_of", warehouse.lot_stock_id.id),
                    ("lot_id", "in", self.ids),
                    ("quantity", ">", 0),
                ]
            )
            origin = self.env._(
                "Recall %(reference)s",
                reference=", ".join(sorted(set(self.mapped("meso_recall_reference")))),
            )
            pickings |= warehouse._meso_move_to_quarantine(quants, origin)
        return pickings

    def _meso_discard_recalled_vials(self):
        for lot in self:
            vials = self.env["meso.opened.vial"].search(
                [("lot_id", "=", lot.id), ("state", "=", "open")]
            )
            vials._meso_discard(
                self.env._(
                    "lot recalled (notice %(reference)s)", reference=lot.meso_recall_reference
                )
            )

    def _meso_recall_ledger(self):
        """The consumption rows of these lots that reached a patient: completed
        sessions, not given back by a cancellation."""
        return self.env["meso.treatment.consumption"].search(
            [
                ("lot_id", "in", self.ids),
                ("session_state", "=", "done"),
                ("returned", "=", False),
            ],
            order="date, id",
        )

    def _meso_schedule_patient_followups(self):
        """One follow-up per lot and patient who received it, for the practitioner of her
        latest session with it, listing the sessions and the ml injected."""
        activity_type = self.env.ref("meso_inventory.mail_activity_type_recall_followup")
        for lot in self:
            rows = lot._meso_recall_ledger()
            for patient in rows.patient_id:
                mine = rows.filtered(lambda row, p=patient: row.patient_id == p)
                sessions = mine.session_id.sorted("date")
                lines = Markup("").join(
                    Markup("<li>%s</li>")
                    % self.env._(
                        "%(session)s on %(date)s: %(ml)s ml",
                        session=session.name,
                        date=fields.Date.to_string(session.date),
                        ml=format(
                            sum(
                                mine.filtered(lambda r, s=session: r.session_id == s).mapped(
                                    "volume_ml"
                                )
                            ),
                            "g",
                        ),
                    )
                    for session in sessions
                )
                note = Markup("<p>%s</p><ul>%s</ul>") % (
                    self.env._(
                        "Lot %(lot)s of %(product)s is recalled (notice %(reference)s by "
                        "%(issuer)s: %(reason)s). Contact the patient about the sessions below.",
                        lot=lot.name,
                        product=lot.product_id.display_name,
                        reference=lot.meso_recall_reference,
                        issuer=lot.meso_recall_issuer,
                        reason=lot.meso_recall_reason,
                    ),
                    lines,
                )
                practitioner = sessions[-1].practitioner_id or self.env.user
                patient.activity_schedule(
                    activity_type_id=activity_type.id,
                    summary=self.env._("Recall of lot %(lot)s", lot=lot.name),
                    note=note,
                    user_id=practitioner.id,
                )

    def _meso_schedule_vendor_return(self):
        activity_type = self.env.ref("meso_inventory.mail_activity_type_recall_return")
        for lot in self:
            company = lot.company_id or self.env.company
            note = escape(
                self.env._(
                    "Lot %(lot)s of %(product)s is recalled (notice %(reference)s): return the "
                    "%(qty)s in quarantine to the vendor with “Return to vendor”.",
                    lot=lot.name,
                    product=lot.product_id.display_name,
                    reference=lot.meso_recall_reference,
                    qty=lot.product_uom_id._meso_format_quantity(lot.meso_quarantine_qty),
                )
            )
            users = company._meso_purchasing_users() or company._meso_expiry_users()
            for user in users or self.env.user:
                lot.activity_schedule(activity_type_id=activity_type.id, note=note, user_id=user.id)

    def action_meso_recall_wizard(self):
        """The recall dialog, for the selected lots."""
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Recall lots"),
            "res_model": "meso.lot.recall",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_lot_ids": self.ids},
        }

    def action_meso_lift_recall(self, reason=None):
        """The notice was withdrawn: the lot may be used again. What was quarantined stays
        there (a manager moves it back), the recall stays in the fields and the chatter."""
        self._meso_check_recall_manager(self.env._("Only a clinic manager can lift a recall."))
        not_recalled = self.filtered(lambda lot: lot.meso_recall_state != "recalled")
        if not_recalled:
            raise UserError(self.env._("Lot %(lot)s is not recalled.", lot=not_recalled[0].name))
        self.write({"meso_recall_state": "lifted", "meso_recall_lifted_at": fields.Datetime.now()})
        for lot in self:
            lot._message_log(
                body=escape(
                    self.env._(
                        "Recall %(reference)s lifted%(reason)s. What is in quarantine stays "
                        "there until a manager moves it back.",
                        reference=lot.meso_recall_reference,
                        reason=": " + reason if reason else "",
                    )
                )
            )
        return True

    def _meso_vendor(self):
        """Whom the lot goes back to: the product's vendor, else the partner of the
        receipt that brought it."""
        self.ensure_one()
        seller = self.product_id.seller_ids.filtered(
            lambda s: not s.company_id or s.company_id == self.company_id
        )[:1]
        if seller:
            return seller.partner_id
        receipt = self.env["stock.move.line"].search(
            [
                ("lot_id", "=", self.id),
                ("state", "=", "done"),
                ("location_id.usage", "=", "supplier"),
            ],
            order="date desc",
            limit=1,
        )
        return receipt.picking_id.partner_id

    def action_meso_return_to_vendor(self):
        """Send what of these recalled lots waits in quarantine back to the vendor: one
        validated return per clinic and lot."""
        self._meso_check_recall_manager(
            self.env._("Only a clinic manager can return quarantined vials.")
        )
        # checked above: a manager, with write access to the lots; outgoing transfers
        # need Inventory rights she may lack, sudo() keeps her uid on them
        lots = self.sudo().with_context(meso_recalled_ok=True)
        pickings = self.env["stock.picking"].sudo()
        for lot in lots:
            quants = lot._meso_quarantine_quants()
            if not quants:
                continue
            vendor = lot._meso_vendor()
            if not vendor:
                raise UserError(
                    self.env._(
                        "Lot %(lot)s has no vendor (on the product or its receipt): set the "
                        "product's vendor first.",
                        lot=lot.name,
                    )
                )
            for location in quants.location_id:
                warehouse = location.warehouse_id
                pickings |= lot._meso_create_vendor_return(
                    warehouse, vendor, quants.filtered(lambda q, loc=location: q.location_id == loc)
                )
        if not pickings:
            raise UserError(self.env._("Nothing of these lots is in quarantine."))
        for lot in lots:
            lot.activity_feedback(
                ["meso_inventory.mail_activity_type_recall_return"],
                feedback=self.env._("Returned to the vendor."),
            )
        return True

    def _meso_prepare_vendor_return_values(self, warehouse, vendor, quants):
        self.ensure_one()
        picking_type = warehouse.in_type_id.return_picking_type_id or warehouse.out_type_id
        source = quants.location_id
        destination = vendor.property_stock_supplier or self.env.ref(
            "stock.stock_location_suppliers"
        )
        quantity = sum(quants.mapped("quantity"))
        return {
            "picking_type_id": picking_type.id,
            "partner_id": vendor.id,
            "location_id": source.id,
            "location_dest_id": destination.id,
            "origin": self.env._(
                "Recall %(reference)s", reference=self.meso_recall_reference or self.name
            ),
            "company_id": warehouse.company_id.id,
            "move_ids": [
                Command.create(
                    {
                        "name": self.product_id.display_name,
                        "product_id": self.product_id.id,
                        "product_uom": self.product_id.uom_id.id,
                        "product_uom_qty": quantity,
                        "location_id": source.id,
                        "location_dest_id": destination.id,
                        "company_id": warehouse.company_id.id,
                    }
                )
            ],
        }

    def _meso_create_vendor_return(self, warehouse, vendor, quants):
        picking = self.env["stock.picking"].create(
            self._meso_prepare_vendor_return_values(warehouse, vendor, quants)
        )
        picking.action_confirm()
        move = picking.move_ids
        move._do_unreserve()
        move.move_line_ids = [
            Command.create(
                {
                    "product_id": self.product_id.id,
                    "product_uom_id": self.product_id.uom_id.id,
                    "lot_id": self.id,
                    "quantity": quant.quantity,
                    "location_id": quant.location_id.id,
                    "location_dest_id": picking.location_dest_id.id,
                    "picking_id": picking.id,
                }
            )
            for quant in quants
        ]
        move.picked = True
        # a return to a vendor: nobody is texted (stock_sms) about it
        picking.with_context(
            skip_expired=True, skip_backorder=True, skip_sms=True
        ).button_validate()
        return picking

    # ------------------------------------------------------------------
    # Adverse events
    # ------------------------------------------------------------------
    def _compute_meso_adverse_event_ids(self):
        if not self.env["meso.adverse.event"].has_access("read"):
            self.meso_adverse_event_ids = False
            self.meso_adverse_event_count = 0
            return
        events = self.env["meso.adverse.event"].search([("lot_ids", "in", self.ids)])
        for lot in self:
            mine = events.filtered(lambda event, lot=lot: lot in event.lot_ids)
            lot.meso_adverse_event_ids = mine
            lot.meso_adverse_event_count = len(mine)

    def _meso_alert_adverse_events(self):
        """A lot with adverse events from more than one patient is a signal: its
        company's clinic managers get an activity (once per lot)."""
        activity_type = self.env.ref("meso_inventory.mail_activity_type_adverse_events")
        # called by the event's create as its author, a practitioner who may not write
        # lots: the activity is the addon's, the counts read every clinic's events
        for lot in self.sudo():
            events = self.env["meso.adverse.event"].sudo().search([("lot_ids", "in", lot.ids)])
            if len(events.patient_id) < 2:
                continue
            if lot.activity_ids.filtered(lambda a: a.activity_type_id == activity_type):
                continue
            note = escape(
                self.env._(
                    "Lot %(lot)s of %(product)s has adverse events from %(count)s patients: "
                    "review them, and consider reporting to the manufacturer.",
                    lot=lot.name,
                    product=lot.product_id.display_name,
                    count=len(events.patient_id),
                )
            )
            users = (lot.company_id or self.env.company)._meso_group_users(MANAGER_GROUP)
            for user in users or self.env.user:
                lot.activity_schedule(activity_type_id=activity_type.id, note=note, user_id=user.id)

    def action_view_meso_adverse_events(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Adverse events with lot %(lot)s", lot=self.name),
            "res_model": "meso.adverse.event",
            "view_mode": "list,form",
            "domain": [("lot_ids", "in", self.ids)],
            "context": {"create": False},
        }

    # ------------------------------------------------------------------
    # Recall report
    # ------------------------------------------------------------------
    def _meso_recall_report_data(self, named=False):
        """What became of this lot, in vials, for the manufacturer or the authority:
        every done move of the lot in its company's stock, by where it came from or went,
        and what is left (in quarantine, on hand). received = consumed + discarded +
        quarantined + returned + on hand, as nothing else leaves or enters the stock
        (received: from vendors or counted in; discarded: scrapped or counted out).
        Sessions are listed with the patient pseudonymised unless `named`."""
        self.ensure_one()
        rounding = self.product_uom_id.rounding
        figures = dict.fromkeys(
            ("received", "consumed", "discarded", "quarantined", "returned", "on_hand"), 0.0
        )
        # source usage → the figure it feeds, counted in; destination usage → counted out
        incoming = {"supplier": "received", "inventory": "received", "customer": "consumed"}
        for source, destination, quantity in self.env["stock.move.line"]._read_group(
            [
                ("lot_id", "=", self.id),
                ("state", "=", "done"),
                "|",
                ("location_id.usage", "=", "internal"),
                ("location_dest_id.usage", "=", "internal"),
            ],
            ["location_id", "location_dest_id"],
            ["quantity_product_uom:sum"],
        ):
            if source.usage == "internal" and destination.usage == "internal":
                continue
            if source.usage == "internal":
                key = {
                    "supplier": "returned",
                    "customer": "consumed",
                    "production": "consumed",
                }.get(destination.usage, "discarded")
                figures[key] += quantity
            elif incoming.get(source.usage) == "received":
                figures["received"] += quantity
            else:
                # a cancelled session's vials coming back
                figures[incoming.get(source.usage, "discarded")] -= quantity
        quarantine = self._meso_quarantine_quants()
        figures["quarantined"] = sum(quarantine.mapped("quantity"))
        on_hand = self.env["stock.quant"].search(
            [
                ("lot_id", "=", self.id),
                ("location_id.usage", "=", "internal"),
                ("id", "not in", quarantine.ids),
            ]
        )
        figures["on_hand"] = sum(on_hand.mapped("quantity"))
        accounted = sum(figures[key] for key in figures if key != "received")
        collector = self.env["meso.audit.collector"]
        sessions = []
        rows = self._meso_recall_ledger()
        for session in rows.session_id.sorted(lambda s: (s.date, s.id)):
            mine = rows.filtered(lambda row, s=session: row.session_id == s)
            patient = session.patient_id
            sessions.append(
                {
                    "session": session.name
                    if named
                    else collector._pseudonym("SE", "meso_inventory.audit-session", session.id),
                    "date": session.date,
                    "patient": patient.name
                    if named
                    else collector._pseudonym("PT", "meso_inventory.audit-patient", patient.id),
                    "clinic": session.warehouse_id.name,
                    "vials": sum(mine.mapped("vial_qty")),
                    "ml": sum(mine.mapped("volume_ml")),
                }
            )
        discarded_ml = sum(
            self.env["meso.opened.vial"]
            .search([("lot_id", "=", self.id), ("state", "=", "discarded")])
            .mapped("waste_ml")
        )
        return {
            "lot": self,
            "figures": figures,
            "balanced": float_compare(figures["received"], accounted, precision_rounding=rounding)
            == 0,
            "sessions": sessions,
            "discarded_ml": discarded_ml,
            "named": named,
        }
