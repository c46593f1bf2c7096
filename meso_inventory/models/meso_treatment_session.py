import math
from collections import defaultdict, namedtuple
from datetime import timedelta

from markupsafe import Markup, escape

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, float_compare, float_is_zero

from .meso_treatment_consumption import ML_PRECISION

MANAGER_GROUP = "meso_inventory.group_manager"
# Set by the addon's flows alone (Complete, Cancel, the override approval), never by a user.
FLOW_FIELDS = frozenset(
    {
        "state",
        "picking_id",
        "return_picking_id",
        "override_approved_by_id",
        "override_approved_at",
        "override_contraindications",
        "late_entry",
    }
)
# The clinical record, closed once the session is completed or cancelled.
RECORD_FIELDS = frozenset(
    {
        "name",
        "patient_id",
        "formulation_id",
        "practitioner_id",
        "date",
        "is_maintenance",
        "company_id",
        "warehouse_id",
        "line_ids",
        "override_reason",
    }
)
# States of a prepared session's transfer while it holds the vials
RESERVING = ("waiting", "confirmed", "assigned")
# What _meso_allocate_vials allocated: the sessions of a wave, their draws from open
# vials [(line, vial, ml)] and their confirmed, reserved consumption pickings.
Allocation = namedtuple("Allocation", ["sessions", "draws", "pickings"])


class MesoTreatmentSession(models.Model):
    _name = "meso.treatment.session"
    _description = "Mesotherapy treatment session"
    _inherit = [
        "mail.thread",
        "mail.activity.mixin",
        "meso.company.check.mixin",
        "meso.scan.mixin",
    ]
    _order = "date desc, id desc"
    _check_company_auto = True

    name = fields.Char(default=lambda self: self.env._("New"), readonly=True, copy=False)
    patient_id = fields.Many2one(
        "meso.patient", required=True, index=True, tracking=True, check_company=True
    )
    formulation_id = fields.Many2one(
        "meso.formulation",
        index=True,
        tracking=True,
        check_company=True,
        domain="[('patient_id', '=', patient_id), ('is_template', '=', False)]",
    )
    treatment_area = fields.Selection(related="formulation_id.treatment_area", store=True)
    practitioner_id = fields.Many2one(
        "res.users", default=lambda self: self.env.user, tracking=True, index=True
    )
    date = fields.Datetime(required=True, default=fields.Datetime.now, tracking=True, index=True)
    is_maintenance = fields.Boolean("Maintenance session")
    state = fields.Selection(
        [("planned", "Planned"), ("done", "Done"), ("cancelled", "Cancelled")],
        default="planned",
        required=True,
        readonly=True,
        copy=False,
        tracking=True,
        index=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    warehouse_id = fields.Many2one(
        "stock.warehouse",
        "Clinic",
        required=True,
        check_company=True,
        default=lambda self: self._default_warehouse(),
        help="The clinic whose stock the vials come from.",
    )
    line_ids = fields.One2many("meso.treatment.session.line", "session_id", "Vials", copy=True)
    consumption_ids = fields.One2many("meso.treatment.consumption", "session_id", "Lots used")
    adverse_event_ids = fields.One2many("meso.adverse.event", "session_id", "Adverse events")
    lot_ids = fields.Many2many("stock.lot", compute="_compute_lot_ids", string="Lots")
    # stock documents are the Inventory users' to open; practitioners reach the lots
    # through the ledger (consumption_ids)
    # indexed: Odoo finds the sessions of a transfer whose state changed ("Vials reserved")
    picking_id = fields.Many2one(
        "stock.picking",
        "Consumption",
        readonly=True,
        copy=False,
        index="btree_not_null",
        groups="stock.group_stock_user",
    )
    return_picking_id = fields.Many2one(
        "stock.picking", "Return", readonly=True, copy=False, groups="stock.group_stock_user"
    )
    # not stored: a stored flag would be recomputed at each state of the transfer
    meso_prepared = fields.Boolean(
        "Vials reserved",
        compute="_compute_meso_prepared",
        search="_search_meso_prepared",
        compute_sudo=True,
        help="Prepared: the sealed single-dose vials of this planned session are reserved "
        "in the clinic's stock (Prepare), and Complete takes those.",
    )
    move_ids = fields.One2many(
        "stock.move",
        "meso_session_id",
        "Stock moves",
        readonly=True,
        groups="stock.group_stock_user",
    )
    override_reason = fields.Text(
        groups="meso_inventory.group_manager",
        tracking=True,
        copy=False,
        help="Why the session goes ahead despite a contraindication; clinic managers only.",
    )
    override_approved_by_id = fields.Many2one(
        "res.users", "Override approved by", readonly=True, copy=False, tracking=True
    )
    override_approved_at = fields.Datetime("Override approved on", readonly=True, copy=False)
    override_contraindications = fields.Text(
        "Contraindications approved",
        readonly=True,
        copy=False,
        help="What the manager saw when approving the override; any other reason found at "
        "completion refuses the session again.",
    )
    late_entry = fields.Boolean(
        readonly=True,
        copy=False,
        help="Completed more than the company's late-entry delay after the session's date, "
        "by a clinic manager.",
    )
    contraindications = fields.Text(compute="_compute_contraindications")
    contraindication_badge = fields.Char(
        "Screening",
        compute="_compute_contraindications",
        help="Shown on planned sessions whose patient and vials raise a contraindication.",
    )
    calendar_name = fields.Char(
        "Calendar title", compute="_compute_calendar_name", help="Patient — area"
    )
    calendar_color = fields.Integer(compute="_compute_calendar_color")
    notes = fields.Html()

    @api.model
    def _default_warehouse(self):
        return self.env["stock.warehouse"].search(
            [("company_id", "=", self.env.company.id)], limit=1
        )

    @api.depends("state", "picking_id.state")
    def _compute_meso_prepared(self):
        for session in self:
            session.meso_prepared = (
                session.state == "planned" and session.picking_id.state in RESERVING
            )

    def _search_meso_prepared(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("Search prepared sessions with “Vials reserved” set."))
        # the transfer is a stock document (Inventory's to read); the flag is the session's
        prepared = self.sudo()._search(
            [("state", "=", "planned"), ("picking_id.state", "in", RESERVING)]
        )
        return [("id", "in" if (operator == "=") == value else "not in", prepared)]

    @api.depends("consumption_ids.lot_id")
    def _compute_lot_ids(self):
        for session in self:
            session.lot_ids = session.consumption_ids.lot_id

    @api.depends(
        "patient_id.allergy_ingredient_ids",
        "patient_id.is_pregnant",
        "patient_id.is_breastfeeding",
        "patient_id.keloid_history",
        "patient_id.active_skin_infection",
        "line_ids.product_id",
        "state",
    )
    def _compute_contraindications(self):
        for session in self:
            reasons = session._meso_screening_reasons()
            session.contraindications = "\n".join(reasons) or False
            session.contraindication_badge = (
                self.env._("Contraindicated") if reasons and session.state == "planned" else False
            )

    @api.depends("patient_id.name", "treatment_area")
    def _compute_calendar_name(self):
        areas = dict(self._fields["treatment_area"]._description_selection(self.env))
        for session in self:
            area = areas.get(session.treatment_area)
            session.calendar_name = (
                self.env._("%(patient)s — %(area)s", patient=session.patient_id.name, area=area)
                if area
                else session.patient_id.name or session.name
            )

    @api.depends("state")
    def _compute_calendar_color(self):
        # indexes of Odoo's colour palette: planned light blue, done green, cancelled red
        colors = {"planned": 4, "done": 10, "cancelled": 1}
        for session in self:
            session.calendar_color = colors.get(session.state, 0)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if not self.env.su:
                set_by_flows = sorted(
                    field
                    for field in FLOW_FIELDS.intersection(vals)
                    if vals[field] and vals[field] != "planned"
                )
                if set_by_flows:
                    raise AccessError(self._meso_flow_fields_message(set_by_flows))
            if vals.get("override_reason"):
                vals.update(self._meso_override_approval())
            if vals.get("name", "/") in ("/", self.env._("New")):
                vals["name"] = self.env["ir.sequence"].next_by_code("meso.treatment.session") or "/"
        sessions = super().create(vals_list)
        sessions.filtered(
            lambda s: s.formulation_id and not s.line_ids
        )._meso_fill_from_formulation()
        sessions.filtered("override_approved_by_id")._meso_record_approved_contraindications()
        return sessions

    def write(self, vals):
        if not self.env.su and FLOW_FIELDS.intersection(vals):
            raise AccessError(
                self._meso_flow_fields_message(sorted(FLOW_FIELDS.intersection(vals)))
            )
        if RECORD_FIELDS.intersection(vals):
            self._meso_check_open_record()
        if "override_reason" in vals:
            vals = dict(vals, **self._meso_override_approval(vals["override_reason"]))
        if {"warehouse_id", "company_id"}.intersection(vals):
            # What was reserved in the former clinic goes back to its shelf. As superuser:
            # the tray's transfer is a stock document; the user may write these sessions
            # (the ORM checks it in super() below, and a refusal rolls this back), and
            # sudo() keeps her uid.
            self.sudo()._meso_release()
        result = super().write(vals)
        if vals.get("override_reason"):
            self._meso_record_approved_contraindications()
        return result

    def _meso_record_approved_contraindications(self):
        # written by the approval itself (a flow field), in one language so that the
        # completion compares like with like whoever completes it
        for session in self.sudo():
            session.override_contraindications = "\n".join(
                session.with_context(lang="en_US")._meso_screening_reasons()
            )

    def _meso_flow_fields_message(self, fields_set):
        return self.env._(
            "%(fields)s of a treatment session change only through Complete and Cancel.",
            fields=", ".join(
                self._fields[name].get_description(self.env)["string"] for name in fields_set
            ),
        )

    def _meso_check_open_record(self):
        """A completed or cancelled session is a closed clinical record."""
        closed = self.filtered(lambda session: session.state != "planned")
        if closed:
            raise UserError(
                self.env._(
                    "Session %(session)s is %(state)s: its patient, date, vials, lots and "
                    "volumes can no longer change. Add a note instead; a completed session is "
                    "undone only by cancelling it.",
                    session=closed[0].name,
                    state=dict(self._fields["state"]._description_selection(self.env))[
                        closed[0].state
                    ].lower(),
                )
            )

    def _meso_override_approval(self, reason=True):
        """Who approved the override and when: a clinic manager's act, whatever the path."""
        self._meso_check_manager(
            self.env._("Only a clinic manager can approve going ahead despite a contraindication.")
        )
        if not reason:
            return {
                "override_approved_by_id": False,
                "override_approved_at": False,
                "override_contraindications": False,
            }
        return {
            "override_approved_by_id": self.env.uid,
            "override_approved_at": fields.Datetime.now(),
        }

    def _meso_check_manager(self, message):
        if not (self.env.su or self.env.user.has_group(MANAGER_GROUP)):
            raise AccessError(message)

    @api.onchange("formulation_id")
    def _onchange_formulation_id(self):
        if self.formulation_id and self.state == "planned":
            self.line_ids = self._meso_formulation_lines()

    def _meso_formulation_lines(self):
        return [fields.Command.clear()] + [
            fields.Command.create(
                {
                    "sequence": line.sequence,
                    "product_id": line.product_id.id,
                    "volume_ml": line.volume_ml,
                }
            )
            for line in self.formulation_id.line_ids
        ]

    def _meso_fill_from_formulation(self):
        for session in self:
            session.line_ids = session._meso_formulation_lines()

    def unlink(self):
        # a planned session's reserved vials go back to the shelf with it (superuser:
        # the consumption picking is a stock document; the deletion's own rights and
        # checks apply below, and roll this back if they refuse)
        self.sudo()._meso_release()
        return super().unlink()

    @api.ondelete(at_uninstall=False)
    def _unlink_except_done(self):
        if any(session.state == "done" for session in self):
            raise UserError(
                self.env._("A completed session cannot be deleted: cancel it to return its vials.")
            )
        # only reads whether the ledger holds rows of these sessions (managers may read
        # them, not every deleting user's group must), to refuse; nothing is written
        traced = self.sudo().filtered("consumption_ids")
        if traced:
            raise UserError(
                self.env._(
                    "Session %(session)s took vials from stock: it stays in the record, with "
                    "its return, for the lots' recall lists.",
                    session=traced[0].name,
                )
            )

    # ------------------------------------------------------------------
    # Screening
    # ------------------------------------------------------------------
    def _meso_screening_reasons(self, products=None):
        """Every reason not to treat this patient with these vials (the session's, or
        `products`)."""
        self.ensure_one()
        patient = self.patient_id
        if not patient:
            return []
        reasons = []
        allergies = patient.allergy_ingredient_ids
        for product in self.line_ids.product_id if products is None else products:
            # a patient without known allergies needs no composition read
            contained = product.meso_composition_ids.ingredient_id if allergies else allergies
            for ingredient in (contained & allergies).sorted("name"):
                reasons.append(
                    self.env._(
                        "allergic to %(ingredient)s, contained in %(product)s",
                        ingredient=ingredient.name,
                        product=product.display_name,
                    )
                )
            if product.meso_is_vial and not product.meso_injection_approved:
                reasons.append(
                    self.env._(
                        "%(product)s is not approved for injection (neither CE-marked nor "
                        "FDA-cleared)",
                        product=product.display_name,
                    )
                )
        reasons += patient._meso_condition_reasons()
        return reasons

    def _meso_screen(self):
        self.ensure_one()
        reasons = self._meso_screening_reasons()
        if not reasons:
            return
        override = self.sudo().override_reason
        approved = set((self.override_contraindications or "").splitlines())
        unapproved = [
            reason
            for reason, key in zip(
                reasons, self.with_context(lang="en_US")._meso_screening_reasons(), strict=True
            )
            if key not in approved
        ]
        if override and unapproved:
            raise UserError(
                self.env._(
                    "Session %(session)s for %(patient)s cannot go ahead: the override was "
                    "approved for other contraindications than these:\n- %(reasons)s\n"
                    "A clinic manager must approve the override again.",
                    session=self.name,
                    patient=self.patient_id.name,
                    reasons="\n- ".join(unapproved),
                )
            )
        if not override:
            raise UserError(
                self.env._(
                    "Session %(session)s for %(patient)s cannot go ahead:\n- %(reasons)s\n"
                    "A clinic manager may record an override reason to proceed.",
                    session=self.name,
                    patient=self.patient_id.name,
                    reasons="\n- ".join(reasons),
                )
            )
        self._message_log(
            body=escape(
                self.env._(
                    "Contraindications overridden: %(reasons)s. Reason: %(reason)s "
                    "(approved by %(manager)s on %(date)s)",
                    reasons="; ".join(reasons),
                    reason=override,
                    manager=self.override_approved_by_id.name or self.env.user.name,
                    date=fields.Datetime.to_string(
                        self.override_approved_at or fields.Datetime.now()
                    ),
                )
            )
        )

    # ------------------------------------------------------------------
    # Scanning
    # ------------------------------------------------------------------
    def scan_vial(self, barcode):
        """The vial the practitioner takes, scanned (its GS1 DataMatrix): the line of
        its product gets its lot and keeps its UDI, or a line of one vial is added.
        Refused, with nothing written, when the code cannot be read, the product or the
        lot cannot be injected into this patient at this session, or the lot is not in
        the clinic's records: a lot is received (and created) at the receipt, never at
        the session."""
        self.ensure_one()
        self.check_access("write")
        self._meso_check_open_record()
        udi, product = self._meso_read_udi(barcode)
        lot = self._meso_scan_lot(udi, product)
        self._meso_check_scan_screening(udi, product)
        self._meso_scan_line(product, lot).write(self._meso_prepare_scan_values(udi, lot))
        return True

    def _meso_scan_lot(self, udi, product):
        """The clinic's lot of a scanned vial, checked as the completion would."""
        code = self.env["barcode.nomenclature"]._meso_printable(udi["code"])
        if not udi["lot"]:
            # a GTIN alone names the product: its line stays on first-expired, first-out
            return self.env["stock.lot"]
        lots = self.env["stock.lot"].search(
            [("product_id", "=", product.id), ("name", "=", udi["lot"])]
        )
        lot = lots.filtered(lambda lt: lt.company_id in (self.company_id, lt.browse()))[:1]
        if not lot and lots:
            raise UserError(
                self.env._(
                    "Lot %(lot)s of %(product)s (scanned: %(code)s) belongs to %(company)s, "
                    "not to %(clinic)s: it cannot be injected here.",
                    lot=udi["lot"],
                    product=product.display_name,
                    code=code,
                    company=lots[0].company_id.name,
                    clinic=self.company_id.name,
                )
            )
        if not lot:
            raise UserError(
                self.env._(
                    "Lot %(lot)s of %(product)s (scanned: %(code)s) was never received in "
                    "the clinic: receive it first (Receive by scanning), then scan the vial "
                    "again.",
                    lot=udi["lot"],
                    product=product.display_name,
                    code=code,
                )
            )
        lot._meso_check_not_recalled()
        self._meso_check_udi_expiry(udi, lot)
        if lot.expiration_date and lot.expiration_date <= self.date:
            raise UserError(
                self.env._(
                    "Lot %(lot)s of %(product)s (scanned: %(code)s) expired on %(date)s, "
                    "before this session: take another vial.",
                    lot=lot.name,
                    product=product.display_name,
                    code=code,
                    date=fields.Date.to_string(lot.expiration_date),
                )
            )
        if lot.meso_quarantine_qty > 0:
            raise UserError(
                self.env._(
                    "Lot %(lot)s of %(product)s (scanned: %(code)s) is in quarantine: it "
                    "must not be injected. Take another vial.",
                    lot=lot.name,
                    product=product.display_name,
                    code=code,
                )
            )
        return lot

    def _meso_check_scan_screening(self, udi, product):
        """The screening of Complete, for the scanned product: what a clinic manager's
        override approved for this session does not refuse the scan."""
        reasons = self._meso_screening_reasons(products=product)
        keys = self.with_context(lang="en_US")._meso_screening_reasons(products=product)
        approved = set((self.override_contraindications or "").splitlines())
        if self.sudo().override_reason:
            reasons = [
                reason for reason, key in zip(reasons, keys, strict=True) if key not in approved
            ]
        if reasons:
            raise UserError(
                self.env._(
                    "%(product)s (scanned: %(code)s) cannot be injected into %(patient)s:"
                    "\n- %(reasons)s",
                    product=product.display_name,
                    code=self.env["barcode.nomenclature"]._meso_printable(udi["code"]),
                    patient=self.patient_id.name,
                    reasons="\n- ".join(reasons),
                )
            )

    def _meso_scan_line(self, product, lot):
        """The line a scanned vial fills: the first of its product not scanned yet whose
        lot is empty or is the scanned one; else a new line of one vial."""
        line = self.line_ids.filtered(
            lambda ln: (
                ln.product_id == product
                and not ln.udi_gtin
                and (not ln.lot_id or not lot or ln.lot_id == lot)
            )
        )[:1]
        if line:
            return line
        return self.env["meso.treatment.session.line"].create(
            {
                "session_id": self.id,
                "sequence": max(self.line_ids.mapped("sequence"), default=0) + 1,
                "product_id": product.id,
                "volume_ml": product.meso_volume_ml,
            }
        )

    def _meso_prepare_scan_values(self, udi, lot):
        """What a scan writes on its line (extend with super())."""
        values = {
            "udi_gtin": udi["gtin"],
            "udi_lot": udi["lot"] or False,
            "udi_serial": udi["serial"] or False,
            "udi_expiry": udi["expiry"] or self._meso_udi_expiry_of(lot) or False,
        }
        if lot:
            values["lot_id"] = lot.id
        return values

    # ------------------------------------------------------------------
    # Completion
    # ------------------------------------------------------------------
    def action_done(self):
        """Screen each session, then take the batch's vials from stock lot by lot."""
        orderpoints = self._meso_lock_stock(reorder=True)
        self.check_access("write")
        late = {}
        for session in self:
            session._meso_check_completable()
            late[session] = session._meso_check_late_entry()
            session._meso_screen()
        # From here the sessions' stock, purchase and activity work runs as superuser, as
        # Odoo's own procurement does: a practitioner needs no Inventory or Purchase rights
        # to finish her day. Safe because the checks above ran with her rights (she may
        # write these sessions of her company, the screening passed or a manager approved
        # it, the dates are hers to record), and every search below is bound to the
        # sessions' companies and clinics. sudo() keeps her uid: the moves, the ledger,
        # the RFQs' chatter and the activities are hers.
        self.sudo()._meso_consume(late, orderpoints.sudo())
        return True

    # ------------------------------------------------------------------
    # Preparing the day: the vials reserved ahead of the session
    # ------------------------------------------------------------------
    def action_meso_prepare(self):
        """Reserve now, lot by lot (FEFO), the sealed single-dose vials these planned
        sessions will take: the tray laid out in the morning, as Odoo reserves a delivery
        before it leaves. Complete then takes the vials reserved, unless the session
        changed since (another vial or volume, a lot chosen or scanned, a lot expired or
        recalled meanwhile): those are reserved again. Multi-dose vials are drawn at the
        chair, from the vial open at that moment. Preparing again reserves afresh."""
        self._meso_lock_stock()
        self.check_access("write")
        for session in self:
            if session.state != "planned":
                raise UserError(
                    self.env._(
                        "Session %(session)s is not planned: there is nothing to prepare.",
                        session=session.name,
                    )
                )
            if not session.line_ids:
                raise UserError(
                    self.env._(
                        "Add the vials of session %(session)s before preparing it.",
                        session=session.name,
                    )
                )
            session._meso_check_vials()
        # Reserving runs as superuser, like the completion (see action_done): the checks
        # above ran with the user's rights, and sudo() keeps her uid on the chatter.
        self.sudo()._meso_prepare()
        return True

    def action_meso_release(self):
        """Give back to the clinic's stock the vials reserved for these sessions."""
        self._meso_lock_stock()
        self.check_access("write")
        # the rights were checked just above (see action_meso_prepare)
        self.sudo()._meso_release()
        return True

    def _meso_prepare(self):
        self._meso_release()
        needs = {
            line: line._meso_sealed_vials()
            for line in self.line_ids
            if not line.product_id.meso_multi_dose
        }
        pickings = self._meso_create_pickings(needs)
        for picking in pickings:
            picking.meso_session_id._meso_check_shortages(picking)
        bodies = {}
        for session in self.filtered("picking_id"):
            reserved = {}
            for move_line in session.picking_id.move_line_ids:
                name = move_line.lot_id.name
                reserved[name] = reserved.get(name, 0.0) + move_line.quantity
            bodies[session.id] = escape(
                self.env._(
                    "Prepared. Vials reserved: %(lots)s",
                    lots=", ".join(f"{lot} ({count:g})" for lot, count in reserved.items()),
                )
            )
        self._message_log_batch(bodies=bodies)

    def _meso_release(self):
        """Cancel what was reserved for these planned sessions, if anything."""
        prepared = self.filtered(lambda session: session.state == "planned" and session.picking_id)
        pickings = prepared.picking_id.filtered(lambda picking: picking.state != "done")
        if not pickings:
            return
        prepared.picking_id = False
        pickings.action_cancel()
        pickings.unlink()

    def _meso_reuse_prepared(self, needs):
        """The moves reserved when these sessions were prepared that still give what they
        need ({line: sealed vials}): the same line and number of vials from the session's
        clinic, the lot chosen since if any, reserved for the session's date as it is now
        (the lots were checked received by then) and still usable at it. The others are
        cancelled; a session left with none is no longer prepared."""
        kept = stale = self.env["stock.move"]
        prepared = self.filtered("meso_prepared")
        if not prepared:
            return kept
        for session in prepared:
            for move in session.picking_id.move_ids.filtered(
                lambda m: m.state not in ("done", "cancel")
            ):
                line = move.meso_session_line_id
                lots = move.move_line_ids.lot_id
                fits = (
                    line in needs
                    and line.session_id == session
                    and move.product_id == line.product_id
                    and move.location_id == session.warehouse_id.lot_stock_id
                    and move.state == "assigned"
                    # reserved for the session's date (lots received and usable by then)
                    and move.date == session.date
                    and float_compare(
                        move.product_uom_qty,
                        needs[line],
                        precision_rounding=move.product_uom.rounding,
                    )
                    == 0
                    and (not line.lot_id or lots == line.lot_id)
                    and not any(
                        lot.meso_recall_state == "recalled"
                        or (lot.expiration_date and lot.expiration_date <= session.date)
                        for lot in lots
                    )
                )
                if fits:
                    kept |= move
                else:
                    stale |= move
        if stale:
            stale._action_cancel()
            stale.unlink()
        emptied = prepared.filtered(lambda session: not session.picking_id.move_ids)
        pickings = emptied.picking_id
        emptied.picking_id = False
        pickings.unlink()
        return kept

    @api.model
    def _meso_release_lots(self, lots, warehouses, reason):
        """Planned sessions holding vials of `lots` in these clinics give all their
        reserved vials back before those lots leave the stock (a recall, an expiry): no
        tray keeps a vial that may no longer be injected. Returns those sessions.
        Called by the recall and the expiry quarantine once they have checked their own
        rights; the trays are read as superuser because the practitioner's sessions and
        the stock documents belong to roles the caller need not have."""
        sessions = (
            self.env["stock.move.line"]
            .sudo()
            .search(
                [
                    ("lot_id", "in", lots.ids),
                    ("location_id", "child_of", warehouses.lot_stock_id.ids),
                    ("state", "not in", ("done", "cancel")),
                    ("move_id.meso_session_id.state", "=", "planned"),
                ]
            )
            .move_id.meso_session_id
        )
        sessions._meso_release()
        sessions._message_log_batch(
            bodies={
                session.id: escape(
                    self.env._(
                        "The vials reserved for this session went back to stock: %(reason)s. "
                        "Prepare it again, or Complete takes other lots.",
                        reason=reason,
                    )
                )
                for session in sessions
            }
        )
        return sessions

    # ------------------------------------------------------------------
    # Locks
    # ------------------------------------------------------------------
    def _meso_vial_needs(self):
        """What these sessions' completion or cancellation shares with others: the
        stock of each of their vials in their clinic, as {(clinic id, vial id): sealed
        vials a planned session may take} (its quants, its open vials, its reordering
        rule; the keys of stock.warehouse._meso_lock_stock_keys)."""
        # one statement, read before the wait (see stock.warehouse._meso_stock_locking)
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                WITH sessions AS (
                    SELECT id, warehouse_id, state, picking_id
                      FROM meso_treatment_session
                     WHERE id = ANY(%(ids)s)
                ), vials AS (
                    -- the lines; for a planned one, the sealed vials it may take
                    SELECT s.warehouse_id, l.product_id,
                           CASE WHEN s.state = 'planned'
                                THEN CEIL(ROUND(l.volume_ml::numeric
                                      / COALESCE(NULLIF(t.meso_volume_ml, 0), 1)::numeric, 6))
                                ELSE 0 END AS vials
                      FROM sessions s
                      JOIN meso_treatment_session_line l ON l.session_id = s.id
                      JOIN product_product p ON p.id = l.product_id
                      JOIN product_template t ON t.id = p.product_tmpl_id
                    UNION ALL
                    -- a prepared session's tray, should a line have changed since
                    SELECT s.warehouse_id, m.product_id, 0
                      FROM sessions s
                      JOIN stock_move m ON m.picking_id = s.picking_id
                     WHERE s.state = 'planned'
                    UNION ALL
                    -- what a completed session's ledger says it took, to give back
                    SELECT s.warehouse_id, c.product_id, 0
                      FROM sessions s
                      JOIN meso_treatment_consumption c ON c.session_id = s.id
                     WHERE s.state != 'planned'
                )
                SELECT warehouse_id, product_id, SUM(vials) FROM vials GROUP BY 1, 2
                """,
                ids=self.ids,
            )
        )
        return {
            (warehouse_id, product_id): float(vials)
            for warehouse_id, product_id, vials in self.env.cr.fetchall()
        }

    def _meso_lock_stock(self, reorder=False):
        """Completions and cancellations sharing a vial's stock in a clinic take turns;
        the others run side by side (stock.warehouse._meso_lock_stock_keys). With
        `reorder`, also returns the automatic reordering rules the sessions may take below
        their minimum, found once their vials' keys are held, having taken the keys of
        the vendors whose RFQs those rules would add to."""
        warehouses = self.env["stock.warehouse"]
        with warehouses._meso_stock_locking():
            needs = self._meso_vial_needs()
            warehouses._meso_lock_stock_keys(needs)
            if not reorder:
                return None
            # read once the vials' keys are held: what those vials' rules will be after
            # the completion. Each vial the sessions may take is counted whole, even those
            # a prepared tray's moves already count as leaving: on the safe side. As
            # superuser, like the reordering it prepares (see action_done): a practitioner
            # has no Inventory rights, and only the rules of the sessions' clinics and
            # vials are read.
            orderpoints = self.env["stock.warehouse.orderpoint"].sudo()._meso_may_fall_below(needs)
            warehouses._meso_lock_stock_keys(orderpoints._meso_vendor_keys())
        return orderpoints.with_env(self.env)

    # ------------------------------------------------------------------
    # Checks
    # ------------------------------------------------------------------
    def _meso_check_completable(self):
        self.ensure_one()
        if self.state != "planned":
            raise UserError(
                self.env._(
                    "Session %(session)s is not planned: it cannot be completed.", session=self.name
                )
            )
        if not self.line_ids:
            raise UserError(
                self.env._(
                    "Add the vials injected in session %(session)s before completing it.",
                    session=self.name,
                )
            )
        if self.date > fields.Datetime.now() + timedelta(hours=1):
            raise UserError(
                self.env._(
                    "Session %(session)s is dated %(date)s, in the future: a session is "
                    "completed once given. Correct its date.",
                    session=self.name,
                    date=fields.Datetime.to_string(self.date),
                )
            )
        self._meso_check_vials()

    def _meso_check_vials(self):
        """The session's vials are active mesotherapy vials; a lot chosen is one of its
        vial, not recalled, not expired at the session's date."""
        self.ensure_one()
        for line in self.line_ids:
            product = line.product_id
            if not product.meso_is_vial or not product.active:
                raise UserError(
                    self.env._(
                        "%(product)s is not an active mesotherapy vial and cannot be injected.",
                        product=product.display_name,
                    )
                )
            lot = line.lot_id
            if lot and lot.product_id != product:
                raise UserError(
                    self.env._(
                        "Lot %(lot)s is a lot of %(lot_product)s, not of %(product)s.",
                        lot=lot.name,
                        lot_product=lot.product_id.display_name,
                        product=product.display_name,
                    )
                )
            lot._meso_check_not_recalled()
            if lot.expiration_date and lot.expiration_date <= self.date:
                raise UserError(
                    self.env._(
                        "Lot %(lot)s of %(product)s expired on %(date)s: pick another lot.",
                        lot=lot.name,
                        product=product.display_name,
                        date=fields.Date.to_string(lot.expiration_date),
                    )
                )

    def _meso_check_late_entry(self):
        """A session completed long after its date is a manager's late entry: its lots
        are judged at that date, so back-dating is not a practitioner's to do."""
        self.ensure_one()
        hours = self.company_id.meso_late_entry_hours
        if self.date >= fields.Datetime.now() - timedelta(hours=hours):
            return False
        self._meso_check_manager(
            self.env._(
                "Session %(session)s is dated %(date)s, more than %(hours)s hours ago: a late "
                "entry is completed by a clinic manager. Ask one, or correct the session's date.",
                session=self.name,
                date=fields.Datetime.to_string(self.date),
                hours=hours,
            )
        )
        return True

    def _meso_consume(self, late, orderpoints):
        """Take the sessions' vials from stock, set-based: one allocation, one picking
        validation and one ledger write per wave of sessions. A wave ends before a session
        that would draw from a vial opened earlier in the same wave (that vial exists only
        once the wave's pickings are validated). `orderpoints`: the automatic rules the
        sessions may take below their minimum, checked for reordering afterwards."""
        rfq_before = orderpoints._meso_open_rfq_snapshot()
        todo = self.sorted(lambda session: (session.date, session.id))
        rows = self.env["meso.treatment.consumption"]
        while todo:
            allocation = todo._meso_allocate_vials()
            sessions = allocation.sessions
            moves = allocation.pickings.move_ids
            sessions._meso_validate_consumption(allocation.pickings)
            # the lines record the lots used while the sessions are still open; then the
            # sessions are done, and their ledger is written with that status
            sessions._meso_set_lots_used(allocation.draws, moves)
            sessions._meso_close(late)
            rows |= rows._meso_record(allocation.draws, moves)
            todo -= sessions
            if todo:
                # the next wave finds the vials this one opened by their stored fields
                self.env["meso.opened.vial"].flush_model()
        rows.opened_vial_id._meso_settle_cost()
        self._meso_log_completion(rows, late)
        orderpoints._meso_replenish_after(self, rfq_before)

    def _meso_allocate_vials(self):
        """Allocate the vials of these sessions (in date order): first the multi-dose
        vials already open in the clinic (first to pass their beyond-use time first), then
        sealed vials from the first-expiring lots, through Odoo's reservation
        (product_expiry skips lots expired at the move's date) or from the lot the
        practitioner picked. Returns the sessions allocated (a wave, see _meso_consume),
        their draws from open vials and their confirmed, reserved pickings."""
        open_vials = self._meso_open_vials_for_draws()
        remaining = {vial: vial.remaining_ml for vial in open_vials}
        draws = []
        needs = {}
        opened_in_wave = set()
        wave = self.browse()
        for session in self:
            multi_dose = {
                (session.warehouse_id.id, line.product_id.id)
                for line in session.line_ids
                if line.product_id.meso_multi_dose
            }
            if wave and multi_dose & opened_in_wave:
                break
            wave |= session
            for line in session.line_ids:
                template = line.product_id.product_tmpl_id
                need = line.volume_ml
                if template.meso_multi_dose:
                    for vial in open_vials:
                        if float_is_zero(need, precision_digits=ML_PRECISION):
                            break
                        if not (
                            remaining[vial] > 0
                            and vial.product_id == line.product_id
                            and vial.warehouse_id == session.warehouse_id
                            and vial.opened_at <= session.date < vial.beyond_use_at
                            and (not line.lot_id or vial.lot_id == line.lot_id)
                        ):
                            continue
                        take = min(remaining[vial], need)
                        remaining[vial] -= take
                        need -= take
                        draws.append((line, vial, take))
                if float_compare(need, 0.0, precision_digits=ML_PRECISION) > 0:
                    needs[line] = math.ceil(round(need / template.meso_volume_ml, 6))
                    if template.meso_multi_dose:
                        opened_in_wave.add((session.warehouse_id.id, line.product_id.id))
        for vial in {vial for _line, vial, _take in draws}:
            left = remaining[vial]
            empty = float_is_zero(left, precision_digits=ML_PRECISION)
            vial.write(
                {"remaining_ml": 0.0 if empty else left, "state": "used_up" if empty else "open"}
            )
        return Allocation(wave, draws, wave._meso_create_pickings(needs))

    def _meso_open_vials_for_draws(self):
        """The open multi-dose vials these sessions may draw from, in drawing order."""
        products = self.line_ids.product_id.filtered("meso_multi_dose")
        if not products:
            return self.env["meso.opened.vial"]
        OpenedVial = self.env["meso.opened.vial"]
        query = OpenedVial._search(
            [
                ("product_id", "in", products.ids),
                ("warehouse_id", "in", self.warehouse_id.ids),
                ("state", "=", "open"),
                ("remaining_ml", ">", 0),
                ("lot_id.meso_recall_state", "!=", "recalled"),
                ("opened_at", "<=", max(self.mapped("date"))),
                ("beyond_use_at", ">", min(self.mapped("date"))),
            ]
        )
        # Completions sharing a vial's stock take turns (_meso_lock_stock); should anything
        # else hold a vial (the discard dialog, the beyond-use job), it is skipped rather
        # than waited for. NO KEY UPDATE leaves consumption rows free to reference it.
        self.env.cr.execute(SQL("%s FOR NO KEY UPDATE SKIP LOCKED", query.select()))
        vials = OpenedVial.browse([row[0] for row in self.env.cr.fetchall()])
        return vials.sorted(lambda vial: (vial.beyond_use_at, vial.id))

    def _meso_create_pickings(self, needs):
        """One consumption picking per session that needs sealed vials ({line: vials}),
        its moves confirmed and reserved together. A prepared session keeps its picking
        and the moves reserved then that still fit (_meso_reuse_prepared); what they do
        not give is added to it."""
        kept = self._meso_reuse_prepared(needs)
        needs = {
            line: vials for line, vials in needs.items() if line not in kept.meso_session_line_id
        }
        sessions = self.filtered(lambda session: any(line in needs for line in session.line_ids))
        prepared = sessions.filtered("meso_prepared")
        new = sessions - prepared
        values = []
        for session in new:
            picking_values = session._meso_prepare_picking_values()
            picking_values["move_ids"] = [
                Command.create(session._meso_prepare_move_values(line, needs[line], picking_values))
                for line in session.line_ids
                if line in needs
            ]
            values.append(picking_values)
        # A consumption picking keeps no chatter of its own (no creation note, followers
        # or state tracking): the session's chatter records the lots reserved and used.
        pickings = self.env["stock.picking"].with_context(tracking_disable=True).create(values)
        for session, picking in zip(new, pickings, strict=True):
            session.picking_id = picking
        added = self.env["stock.move"].with_context(tracking_disable=True)
        for session in prepared:
            picking = session.picking_id
            added |= added.create(
                [
                    dict(
                        session._meso_prepare_move_values(
                            line,
                            needs[line],
                            {
                                "location_id": picking.location_id.id,
                                "location_dest_id": picking.location_dest_id.id,
                            },
                        ),
                        picking_id=picking.id,
                        picking_type_id=picking.picking_type_id.id,
                    )
                    for line in session.line_ids
                    if line in needs
                ]
            )
        # the clinic's consumption type reserves at confirmation (FEFO, product_expiry
        # skipping lots expired at the move's date); what it could not is tried again
        pickings.action_confirm()
        if added:
            added._action_confirm()
        moves = pickings.move_ids | added
        chosen = moves.filtered(lambda move: move.meso_session_line_id.lot_id)
        (moves - chosen).filtered(lambda move: move.state != "assigned")._action_assign()
        for move in chosen:
            # the lot the practitioner picked, and that lot only
            move._do_unreserve()
            move._update_reserved_quantity(
                move.product_uom_qty,
                move.location_id,
                lot_id=move.meso_session_line_id.lot_id,
                strict=False,
            )
            move._recompute_state()
        # the moves kept were checked when reserved, at the same session date
        self._meso_check_received(moves.move_line_ids)
        return (pickings | kept.picking_id | added.picking_id).with_env(self.env)

    def _meso_validate_consumption(self, pickings):
        """Check that the whole need was reserved (its lots were checked when reserved,
        see _meso_create_pickings), then validate the pickings in one go."""
        if not pickings:
            return
        for picking in pickings:
            picking.meso_session_id._meso_check_shortages(picking)
        pickings.move_ids.picked = True
        # no tracking message either when the pickings' state turns to done (see
        # _meso_create_pickings)
        pickings._track_discard()
        # Validated the way the point of sale validates the pickings of its orders:
        # _action_done, without button_validate's dialogs (backorder, SMS, expired lots),
        # which have nothing to ask here: the lots were checked above and at
        # reservation, the whole need was reserved, the picking has no partner.
        pickings.with_context(tracking_disable=True, cancel_backorder=True)._action_done()
        not_done = pickings.filtered(lambda picking: picking.state != "done")
        if not_done:
            raise UserError(
                self.env._(
                    "The consumption of session %(session)s could not be validated.",
                    session=(not_done.meso_session_id or self)[0].name,
                )
            )

    def _meso_check_shortages(self, picking):
        self.ensure_one()
        shortages = [
            self.env._(
                "%(product)s: %(needed)s vial(s) needed, %(available)s usable in "
                "%(location)s%(lot)s",
                product=move.product_id.display_name,
                needed=move.product_uom_qty,
                available=move.quantity,
                location=picking.location_id.display_name,
                lot=self.env._(" (lot %(lot)s)", lot=move.meso_session_line_id.lot_id.name)
                if move.meso_session_line_id.lot_id
                else "",
            )
            for move in picking.move_ids
            if move.state != "cancel"
            and float_compare(
                move.quantity, move.product_uom_qty, precision_rounding=move.product_uom.rounding
            )
            < 0
        ]
        if shortages:
            raise UserError(
                self.env._(
                    "Not enough usable stock to complete session %(session)s (expired and "
                    "quarantined lots do not count):\n- %(shortages)s",
                    session=self.name,
                    shortages="\n- ".join(shortages),
                )
            )

    def _meso_prepare_picking_values(self):
        """Values of the session's consumption picking (extend with super())."""
        self.ensure_one()
        picking_type = self.warehouse_id._meso_consumption_type()
        return {
            "picking_type_id": picking_type.id,
            "location_id": self.warehouse_id.lot_stock_id.id,
            "location_dest_id": picking_type.default_location_dest_id.id,
            # no partner: the patient stays out of stock documents, and Odoo sends no
            # delivery SMS or e-mail; the session reference is the only link
            "origin": self.name,
            "scheduled_date": self.date,
            "company_id": self.company_id.id,
            "meso_session_id": self.id,
        }

    def _meso_prepare_move_values(self, line, vials, picking_values):
        """Values of the move taking `vials` sealed vials for a session line (extend with
        super()); the line's id keeps the move apart from the other lines' moves."""
        return {
            "name": line.product_id.display_name,
            "product_id": line.product_id.id,
            "product_uom": line.product_id.uom_id.id,
            "product_uom_qty": vials,
            "location_id": picking_values["location_id"],
            "location_dest_id": picking_values["location_dest_id"],
            "date": self.date,
            "meso_session_id": self.id,
            "meso_session_line_id": line.id,
            "company_id": self.company_id.id,
        }

    def _meso_check_received(self, move_lines):
        """A vial is never injected before its lot arrived in the clinic."""
        if not move_lines:
            return
        for warehouse in self.warehouse_id:
            lines = move_lines.filtered(
                lambda ml, wh=warehouse: ml.move_id.meso_session_id.warehouse_id == wh
            )
            received = dict(
                self.env["stock.quant"]._read_group(
                    [
                        ("lot_id", "in", lines.lot_id.ids),
                        ("location_id", "child_of", warehouse.lot_stock_id.id),
                    ],
                    ["lot_id"],
                    ["in_date:min"],
                )
            )
            for move_line in lines:
                session = move_line.move_id.meso_session_id
                in_date = received.get(move_line.lot_id)
                if in_date and in_date > session.date:
                    raise UserError(
                        self.env._(
                            "Lot %(lot)s of %(product)s was received on %(received)s, after "
                            "session %(session)s (%(date)s): a vial cannot be injected before "
                            "it arrived. Correct the session's date or pick another lot.",
                            lot=move_line.lot_id.name,
                            product=move_line.product_id.display_name,
                            received=fields.Datetime.to_string(in_date),
                            session=session.name,
                            date=fields.Datetime.to_string(session.date),
                        )
                    )

    def _meso_set_lots_used(self, draws, moves):
        """A line without a chosen lot shows the lot it took, when it took one only: from
        the vials it drew from [(line, opened vial, ml)] and its done moves."""
        lots_by_line = defaultdict(lambda: self.env["stock.lot"])
        for line, vial, _take in draws:
            lots_by_line[line] |= vial.lot_id
        for move in moves:
            lots_by_line[move.meso_session_line_id] |= move.move_line_ids.lot_id
        lines_by_lot = {}
        for line in self.line_ids.filtered(lambda ln: not ln.lot_id):
            lots = lots_by_line[line]
            if len(lots) == 1:
                lines_by_lot.setdefault(lots, self.env["meso.treatment.session.line"])
                lines_by_lot[lots] |= line
        for lot, lines in lines_by_lot.items():
            lines.lot_id = lot

    def _meso_close(self, late):
        """The sessions are done; `late`: {session: completed as a late entry}."""
        for is_late in (False, True):
            sessions = self.filtered(lambda session, is_late=is_late: late[session] == is_late)
            if sessions:
                sessions.write({"state": "done", "late_entry": is_late})

    def _meso_log_completion(self, rows, late):
        """Say in each session's chatter the lots it used (and who entered it late)."""
        # the sessions whose change of state mail.thread tracks (as it prepared it on write)
        tracked = self.env.cr.precommit.data.get(f"mail.tracking.{self._name}", {})
        bodies = {}
        for session in self:
            used = {}
            for row in rows.filtered(lambda r, s=session: r.session_id == s):
                used[row.lot_id.name] = used.get(row.lot_id.name, 0.0) + row.volume_ml
            body = escape(
                self.env._(
                    "Completed. Lots used: %(lots)s",
                    lots=", ".join(f"{lot} ({ml:g} ml)" for lot, ml in used.items()),
                )
            )
            if late[session]:
                body += Markup("<br/>") + escape(
                    self.env._(
                        "Late entry: the session given on %(date)s was completed on %(now)s "
                        "by %(user)s.",
                        date=fields.Datetime.to_string(session.date),
                        now=fields.Datetime.to_string(fields.Datetime.now()),
                        user=self.env.user.name,
                    )
                )
            if "state" in (tracked.get(session.id) or {}):
                # the message tracking the state to Done says it: one chatter entry
                session._track_set_log_message(body)
            else:
                bodies[session.id] = body
        if bodies:
            # tracking disabled, or the session created in this same transaction
            self._message_log_batch(bodies=bodies)

    # ------------------------------------------------------------------
    # Cancellation
    # ------------------------------------------------------------------
    def action_cancel(self):
        """Cancel; a completed session returns its vials to the lots they came from."""
        self._meso_lock_stock()
        self.check_access("write")
        for session in self:
            session._meso_check_cancellable()
        # The return picking and the ledger's marks run as superuser, like the
        # completion: the rights were checked just above (_meso_check_cancellable), and
        # sudo() keeps the user's uid for the chatter.
        for session in self.sudo():
            if session.state == "done":
                session._meso_return_stock()
            else:
                session._meso_release()
            session.state = "cancelled"
        # The same checks cover this: a recalled lot's vials given back above go on to
        # the clinic's quarantine, a transfer needing Inventory rights; uid kept.
        self.sudo()._meso_keep_recalled_out()
        return True

    def _meso_keep_recalled_out(self):
        """Vials of a recalled lot that a cancellation gave back go to quarantine, and a
        vial of it reopened by the cancellation is discarded again."""
        lots = self.consumption_ids.filtered("returned").lot_id.filtered(
            lambda lot: lot.meso_recall_state == "recalled"
        )
        if lots:
            lots = lots.with_context(meso_recalled_ok=True)
            lots._meso_quarantine_recalled()
            lots._meso_discard_recalled_vials()

    def _meso_check_cancellable(self):
        """A practitioner cancels a planned session, or her own completed one on its day;
        any other cancellation of a completed session is a clinic manager's."""
        self.ensure_one()
        if self.state == "cancelled":
            raise UserError(
                self.env._("Session %(session)s is already cancelled.", session=self.name)
            )
        if self.state != "done" or self.env.su or self.env.user.has_group(MANAGER_GROUP):
            return
        today = fields.Date.context_today(self)
        given_on = fields.Date.context_today(self, self.date)
        if self.practitioner_id != self.env.user or given_on != today:
            raise AccessError(
                self.env._(
                    "Session %(session)s was completed by %(practitioner)s on %(date)s: only "
                    "its practitioner, on the same day, or a clinic manager can cancel it.",
                    session=self.name,
                    practitioner=self.practitioner_id.name or "-",
                    date=fields.Date.to_string(given_on),
                )
            )

    def _meso_return_stock(self):
        self.ensure_one()
        opened_here = self.env["meso.opened.vial"].search([("session_id", "=", self.id)])
        later_draws = opened_here.consumption_ids.filtered(
            lambda c: c.session_id != self and c.session_state == "done"
        )
        if later_draws:
            raise UserError(
                self.env._(
                    "A vial opened in %(session)s was used since in %(others)s: cancel those "
                    "sessions first.",
                    session=self.name,
                    others=", ".join(later_draws.session_id.mapped("name")),
                )
            )
        for consumption in self.consumption_ids.filtered(
            lambda c: c.opened_vial_id and c.opened_vial_id not in opened_here
        ):
            vial = consumption.opened_vial_id
            vial.write({"remaining_ml": vial.remaining_ml + consumption.volume_ml, "state": "open"})
        opened_here.write({"state": "cancelled", "remaining_ml": 0.0})
        if self.picking_id:
            self.return_picking_id = self._meso_return_picking()
        # the rows stay: the lot's recall list shows the consumption and its return
        self.consumption_ids.write(
            {
                "returned": True,
                "return_picking_id": self.return_picking_id.id,
                "returned_at": fields.Datetime.now(),
            }
        )
        self._message_log(body=escape(self.env._("Cancelled: the vials went back to their lots.")))

    def _meso_return_picking(self):
        picking = self.picking_id
        wizard = (
            self.env["stock.return.picking"]
            .with_context(
                active_id=picking.id, active_ids=picking.ids, active_model="stock.picking"
            )
            .create({"picking_id": picking.id})
        )
        for return_line in wizard.product_return_moves:
            return_line.quantity = return_line.move_id.quantity
        returned = wizard._create_return()
        for move in returned.move_ids:
            origin = move.origin_returned_move_id
            move.move_line_ids.unlink()
            move.move_line_ids = [
                fields.Command.create(
                    {
                        "product_id": move.product_id.id,
                        "product_uom_id": move.product_uom.id,
                        "lot_id": origin_line.lot_id.id,
                        "quantity": origin_line.quantity,
                        "location_id": move.location_id.id,
                        "location_dest_id": move.location_dest_id.id,
                        "picking_id": returned.id,
                    }
                )
                for origin_line in origin.move_line_ids
            ]
            move.meso_session_id = self.id
        returned.move_ids.picked = True
        returned.with_context(skip_backorder=True).button_validate()
        return returned
