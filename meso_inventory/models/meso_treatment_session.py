import math
from datetime import timedelta

from markupsafe import escape

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, float_compare, float_is_zero

# ml below which a vial counts as empty (a hundredth of a ml)
ML_PRECISION = 2
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


class MesoTreatmentSession(models.Model):
    _name = "meso.treatment.session"
    _description = "Mesotherapy treatment session"
    _inherit = ["mail.thread", "mail.activity.mixin", "meso.company.check.mixin"]
    _order = "date desc, id desc"
    _check_company_auto = True

    name = fields.Char(default="/", readonly=True, copy=False)
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
    lot_ids = fields.Many2many("stock.lot", compute="_compute_lot_ids", string="Lots")
    # stock documents are the Inventory users' to open; practitioners reach the lots
    # through the ledger (consumption_ids)
    picking_id = fields.Many2one(
        "stock.picking", "Consumption", readonly=True, copy=False, groups="stock.group_stock_user"
    )
    return_picking_id = fields.Many2one(
        "stock.picking", "Return", readonly=True, copy=False, groups="stock.group_stock_user"
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
    notes = fields.Html()

    @api.model
    def _default_warehouse(self):
        return self.env["stock.warehouse"].search(
            [("company_id", "=", self.env.company.id)], limit=1
        )

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
    )
    def _compute_contraindications(self):
        for session in self:
            session.contraindications = "\n".join(session._meso_screening_reasons()) or False

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
            if vals.get("name", "/") == "/":
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
    def _meso_screening_reasons(self):
        """Every reason not to treat this patient with these vials."""
        self.ensure_one()
        patient = self.patient_id
        if not patient:
            return []
        reasons = []
        allergies = patient.allergy_ingredient_ids
        for product in self.line_ids.product_id:
            composition = product.meso_composition_ids
            for ingredient in (composition.ingredient_id & allergies).sorted("name"):
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
    # Completion
    # ------------------------------------------------------------------
    def action_done(self):
        """Screen, allocate vials lot by lot, post and validate the consumption picking."""
        self._meso_lock_ledger()
        self.check_access("write")
        for session in self:
            session._meso_complete()
        return True

    def _meso_lock_ledger(self):
        """Completions and cancellations of completed sessions take turns.

        They all draw from the same open vials and the same first-expiring lots. Under
        PostgreSQL's REPEATABLE READ, two of them running side by side end with one failing
        on a serialization error once the other commits (Odoo then redoes it, five times at
        most); taking turns avoids that. The lock is taken before anything is read: called
        first in a request (as over XML-RPC), the wait happens before the transaction's
        snapshot is taken, so the second one sees the vials and quants the first one left.
        Reading the ledger (reports, exports) is not blocked."""
        self.env.cr.execute(
            SQL(
                "LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE",
                SQL.identifier(self.env["meso.treatment.consumption"]._table),
            )
        )

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

    def _meso_complete(self):
        self.ensure_one()
        self._meso_check_completable()
        late = self._meso_check_late_entry()
        self._meso_screen()
        # From here the session's stock, purchase and activity work runs as superuser, as
        # Odoo's own procurement does: a practitioner needs no Inventory or Purchase rights
        # to finish her day. Safe because the checks above ran with her rights (she may
        # write this session of her company, the screening passed or a manager approved
        # it, the date is hers to record), and every search below is bound to this
        # session's company and clinic. sudo() keeps her uid: the moves, the ledger, the
        # RFQ's chatter and the activities are hers.
        session = self.sudo()
        draws, vials_needed = session._meso_draw_open_vials()
        Orderpoint = session.env["stock.warehouse.orderpoint"]
        products = session.line_ids.product_id
        orderpoints = Orderpoint._meso_rules_for(session, products)
        rfq_before = orderpoints._meso_open_rfq_snapshot()
        picking = session._meso_post_picking(vials_needed)
        session._meso_record_consumption(draws, picking)
        for line in session.line_ids.filtered(
            lambda ln: not ln.lot_id and len(ln.consumption_ids.lot_id) == 1
        ):
            line.lot_id = line.consumption_ids.lot_id
        session.write(
            {"state": "done", "picking_id": picking.id if picking else False, "late_entry": late}
        )
        if late:
            session._message_log(
                body=escape(
                    self.env._(
                        "Late entry: the session given on %(date)s was completed on %(now)s "
                        "by %(user)s.",
                        date=fields.Datetime.to_string(self.date),
                        now=fields.Datetime.to_string(fields.Datetime.now()),
                        user=self.env.user.name,
                    )
                )
            )
        orderpoints._meso_replenish_after(session, rfq_before)

    def _meso_draw_open_vials(self):
        """Draw multi-dose lines from vials already open; return the draws and the
        sealed vials still needed per line as {line: (vials, ml to draw from them)}."""
        draws = []
        vials_needed = {}
        OpenedVial = self.env["meso.opened.vial"]
        for line in self.line_ids:
            template = line.product_id.product_tmpl_id
            need = line.volume_ml
            if template.meso_multi_dose:
                domain = [
                    ("product_id", "=", line.product_id.id),
                    ("company_id", "=", self.company_id.id),
                    ("state", "=", "open"),
                    ("remaining_ml", ">", 0),
                    ("opened_at", "<=", self.date),
                    ("beyond_use_at", ">", self.date),
                ]
                if line.lot_id:
                    domain.append(("lot_id", "=", line.lot_id.id))
                candidates = OpenedVial.search(domain)
                if candidates:
                    # Completions take turns (_meso_lock_ledger); should anything else
                    # hold a vial, it is skipped rather than waited for: waiting would end
                    # in a serialization failure once the other transaction commits. NO
                    # KEY UPDATE leaves consumption rows free to reference the vial.
                    self.env.cr.execute(
                        "SELECT id FROM meso_opened_vial WHERE id IN %s "
                        "FOR NO KEY UPDATE SKIP LOCKED",
                        [tuple(candidates.ids)],
                    )
                    locked = [row[0] for row in self.env.cr.fetchall()]
                    candidates = candidates.browse(locked).sorted(
                        lambda vial: (vial.beyond_use_at, vial.id)
                    )
                    candidates.invalidate_recordset(["remaining_ml", "state"])
                for vial in candidates:
                    if float_is_zero(need, precision_digits=ML_PRECISION):
                        break
                    take = min(vial.remaining_ml, need)
                    remaining = vial.remaining_ml - take
                    vial.write(
                        {
                            "remaining_ml": remaining,
                            "state": "used_up"
                            if float_is_zero(remaining, precision_digits=ML_PRECISION)
                            else "open",
                        }
                    )
                    draws.append((line, vial, take))
                    need -= take
            if float_compare(need, 0.0, precision_digits=ML_PRECISION) > 0:
                vials = math.ceil(round(need / template.meso_volume_ml, 6))
                vials_needed[line] = (vials, need)
        return draws, vials_needed

    def _meso_post_picking(self, vials_needed):
        """One picking of the clinic's treatment consumption type, validated by Odoo."""
        if not vials_needed:
            return self.env["stock.picking"]
        picking_values = self._meso_prepare_picking_values()
        picking_values["move_ids"] = [
            fields.Command.create(self._meso_prepare_move_values(line, vials, picking_values))
            for line, (vials, _ml) in vials_needed.items()
        ]
        picking = self.env["stock.picking"].create(picking_values)
        picking.action_confirm()
        self._meso_reserve(picking.move_ids)
        self._meso_check_received(picking.move_ids.move_line_ids)
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
            if float_compare(
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
        picking.move_ids.picked = True
        result = picking.with_context(
            meso_consumption_date=self.date, skip_backorder=True, skip_expired=True, skip_sms=True
        ).button_validate()
        if result is not True or picking.state != "done":
            raise UserError(
                self.env._(
                    "The consumption of session %(session)s could not be validated.",
                    session=self.name,
                )
            )
        return picking

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
        received = self.env["stock.quant"]._read_group(
            [
                ("lot_id", "in", move_lines.lot_id.ids),
                ("location_id", "child_of", self.warehouse_id.lot_stock_id.id),
            ],
            ["lot_id"],
            ["in_date:min"],
        )
        for lot, in_date in received:
            if in_date and in_date > self.date:
                raise UserError(
                    self.env._(
                        "Lot %(lot)s of %(product)s was received on %(received)s, after "
                        "session %(session)s (%(date)s): a vial cannot be injected before it "
                        "arrived. Correct the session's date or pick another lot.",
                        lot=lot.name,
                        product=lot.product_id.display_name,
                        received=fields.Datetime.to_string(in_date),
                        session=self.name,
                        date=fields.Datetime.to_string(self.date),
                    )
                )

    @api.model
    def _meso_reserve(self, moves):
        """FEFO through Odoo's reservation (product_expiry skips lots expired at the
        move's date); a lot picked by the practitioner is reserved from that lot only."""
        chosen = moves.filtered(lambda m: m.meso_session_line_id.lot_id)
        (moves - chosen)._action_assign()
        for move in chosen:
            move._do_unreserve()
            move._update_reserved_quantity(
                move.product_uom_qty,
                move.location_id,
                lot_id=move.meso_session_line_id.lot_id,
                strict=False,
            )
            move._recompute_state()

    def _meso_record_consumption(self, draws, picking):
        """Trace every ml to its lot: draws from open vials, then the sealed vials used."""
        Consumption = self.env["meso.treatment.consumption"]
        values = [
            self._meso_prepare_consumption_values(
                line, vial.lot_id, take, opened_vial_id=vial.id, cost=vial._meso_draw_cost(take)
            )
            for line, vial, take in draws
        ]
        for move in picking.move_ids:
            line = move.meso_session_line_id
            template = line.product_id.product_tmpl_id
            unit_cost = self._meso_unit_cost(move)
            need = line.volume_ml - sum(take for ln, _vial, take in draws if ln == line)
            for move_line in move.move_line_ids.sorted(self._meso_fefo_key):
                count = int(round(move_line.quantity))
                if template.meso_multi_dose:
                    for _index in range(count):
                        drawn = min(need, template.meso_volume_ml)
                        need -= drawn
                        vial = self._meso_open_vial(
                            move_line.lot_id, template.meso_volume_ml - drawn, unit_cost
                        )
                        values.append(
                            self._meso_prepare_consumption_values(
                                line,
                                move_line.lot_id,
                                drawn,
                                opened_vial_id=vial.id,
                                vial_qty=1,
                                cost=vial._meso_draw_cost(drawn),
                            )
                        )
                else:
                    drawn = min(need, count * template.meso_volume_ml)
                    need -= drawn
                    values.append(
                        self._meso_prepare_consumption_values(
                            line,
                            move_line.lot_id,
                            drawn,
                            vial_qty=move_line.quantity,
                            waste_ml=count * template.meso_volume_ml - drawn,
                            cost=move_line.quantity * unit_cost,
                        )
                    )
        # the cost is the managers' to read; the practitioner's action records it
        Consumption.sudo().create(values).opened_vial_id._meso_settle_cost()
        self._message_log(
            body=escape(
                self.env._(
                    "Completed. Lots used: %(lots)s",
                    lots=", ".join(
                        f"{c['lot']} ({c['ml']:g} ml)" for c in self._meso_lot_summary()
                    ),
                )
            )
        )

    def _meso_prepare_consumption_values(self, line, lot, volume_ml, **values):
        """Values of one ledger row: what a session line took from a lot (extend with
        super()). `values` adds the vial drawn from, the vials and waste, the cost."""
        return dict(
            {
                "session_line_id": line.id,
                "product_id": line.product_id.id,
                "lot_id": lot.id,
                "volume_ml": volume_ml,
            },
            **values,
        )

    @staticmethod
    def _meso_unit_cost(move):
        """Cost of one vial as Odoo valued the consumption move."""
        layers = move.sudo().stock_valuation_layer_ids
        quantity = sum(layers.mapped("quantity"))
        if quantity:
            return abs(sum(layers.mapped("value")) / quantity)
        return move.product_id.sudo().standard_price

    @staticmethod
    def _meso_fefo_key(move_line):
        return (move_line.lot_id.expiration_date or fields.Datetime.now(), move_line.id)

    def _meso_open_vial(self, lot, remaining_ml, cost):
        """A multi-dose vial opened in this session, usable until its beyond-use time."""
        template = lot.product_id.product_tmpl_id
        beyond_use = self.date + timedelta(hours=template.meso_in_use_hours)
        if lot.expiration_date:
            beyond_use = min(beyond_use, lot.expiration_date)
        empty = float_is_zero(remaining_ml, precision_digits=ML_PRECISION)
        return self.env["meso.opened.vial"].create(
            {
                "lot_id": lot.id,
                "company_id": self.company_id.id,
                "session_id": self.id,
                "opened_at": self.date,
                "beyond_use_at": beyond_use,
                "remaining_ml": 0.0 if empty else remaining_ml,
                "state": "used_up" if empty else "open",
                "cost": cost,
            }
        )

    def _meso_lot_summary(self):
        summary = {}
        for consumption in self.consumption_ids:
            entry = summary.setdefault(
                consumption.lot_id, {"lot": consumption.lot_id.name, "ml": 0.0}
            )
            entry["ml"] += consumption.volume_ml
        return list(summary.values())

    # ------------------------------------------------------------------
    # Cancellation
    # ------------------------------------------------------------------
    def action_cancel(self):
        """Cancel; a completed session returns its vials to the lots they came from."""
        self._meso_lock_ledger()
        self.check_access("write")
        for session in self:
            session._meso_check_cancellable()
        # The return picking and the ledger's marks run as superuser, like the
        # completion: the rights were checked just above (_meso_check_cancellable), and
        # sudo() keeps the user's uid for the chatter.
        for session in self.sudo():
            if session.state == "done":
                session._meso_return_stock()
            session.state = "cancelled"
        return True

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
