from datetime import timedelta

from markupsafe import escape

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import float_is_zero

from .meso_treatment_consumption import ML_PRECISION


class MesoOpenedVial(models.Model):
    """A multi-dose vial in use. Written by the sessions' flows and the discard dialog
    alone: every group has read access only."""

    _name = "meso.opened.vial"
    _description = "Opened multi-dose vial"
    _inherit = ["mail.thread"]
    _order = "beyond_use_at, id"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True)
    lot_id = fields.Many2one(
        "stock.lot", required=True, index=True, ondelete="restrict", check_company=True
    )
    product_id = fields.Many2one(related="lot_id.product_id", store=True, index=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    warehouse_id = fields.Many2one(
        "stock.warehouse",
        "Clinic",
        index=True,
        readonly=True,
        check_company=True,
        help="The clinic where the vial was opened: only its sessions draw from it.",
    )
    session_id = fields.Many2one(
        "meso.treatment.session", "Opened in", index=True, ondelete="set null", readonly=True
    )
    opened_at = fields.Datetime(required=True, default=fields.Datetime.now)
    beyond_use_at = fields.Datetime(
        "Use before", required=True, help="Opened + stability hours, never after the lot's expiry."
    )
    remaining_ml = fields.Float("Remaining (ml)", digits=(16, 2))
    waste_ml = fields.Float("Discarded (ml)", digits=(16, 2), readonly=True)
    state = fields.Selection(
        [
            ("open", "Open"),
            ("used_up", "Used up"),
            ("discarded", "Discarded"),
            ("cancelled", "Cancelled"),
        ],
        default="open",
        required=True,
        tracking=True,
        index=True,
    )
    consumption_ids = fields.One2many("meso.treatment.consumption", "opened_vial_id", "Draws")
    cost = fields.Float(
        digits="Product Price",
        readonly=True,
        groups="meso_inventory.group_manager",
        help="Value of the vial as Odoo valued it when it left stock: shared among the "
        "sessions by the millilitres each drew.",
    )
    discard_reason = fields.Char(readonly=True)
    discarded_by_id = fields.Many2one("res.users", "Discarded by", readonly=True)
    discarded_at = fields.Datetime("Discarded on", readonly=True)

    @api.depends("lot_id", "opened_at")
    def _compute_name(self):
        for vial in self:
            vial.name = f"{vial.lot_id.name} · {fields.Datetime.to_string(vial.opened_at)[:16]}"

    @api.model
    def _meso_prepare_opened_values(self, session, lot, remaining_ml, cost):
        """Values of a multi-dose vial opened in a session, usable until its beyond-use
        time (never after its lot's expiry)."""
        template = lot.product_id.product_tmpl_id
        beyond_use = session.date + timedelta(hours=template.meso_in_use_hours)
        if lot.expiration_date:
            beyond_use = min(beyond_use, lot.expiration_date)
        empty = float_is_zero(remaining_ml, precision_digits=ML_PRECISION)
        return {
            "lot_id": lot.id,
            "company_id": session.company_id.id,
            "warehouse_id": session.warehouse_id.id,
            "session_id": session.id,
            "opened_at": session.date,
            "beyond_use_at": beyond_use,
            "remaining_ml": 0.0 if empty else remaining_ml,
            "state": "used_up" if empty else "open",
            "cost": cost,
        }

    def _meso_draw_cost(self, ml):
        """The share of the vial's cost of a draw of `ml` millilitres."""
        self.ensure_one()
        volume = self.product_id.meso_volume_ml or 1.0
        return self.company_id.currency_id.round(self.cost * ml / volume)

    def _meso_settle_cost(self):
        """Once a vial is used up, its last draw takes what the rounding left over, so
        that the draws add up to the vial's cost."""
        for vial in self.filtered(lambda v: v.state == "used_up" and v.consumption_ids):
            draws = vial.consumption_ids.sorted("id")
            rest = vial.cost - sum(draws[:-1].mapped("cost"))
            draws[-1].cost = vial.company_id.currency_id.round(rest)

    def action_discard(self):
        """Open the discard dialog: a clinic manager's act, with a reason."""
        self._meso_check_discardable()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Discard opened vials"),
            "res_model": "meso.opened.vial.discard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_vial_ids": self.ids},
        }

    def _meso_check_discardable(self):
        if not self.env.user.has_group("meso_inventory.group_manager"):
            raise AccessError(self.env._("Only a clinic manager can discard an opened vial."))
        not_open = self.filtered(lambda vial: vial.state != "open")
        if not_open:
            raise UserError(
                self.env._(
                    "Only an open vial can be discarded (%(vial)s is not).", vial=not_open[0].name
                )
            )

    def _meso_discard(self, reason):
        """Throw away what is left: it is recorded as waste, with the reason.
        Called by the discard dialog and the beyond-use job, as superuser: opened vials
        are written by the addon's flows only."""
        for vial in self:
            vial.write(
                {
                    "state": "discarded",
                    "waste_ml": vial.remaining_ml,
                    "remaining_ml": 0.0,
                    "discard_reason": reason,
                    "discarded_by_id": self.env.uid,
                    "discarded_at": fields.Datetime.now(),
                }
            )
            vial._message_log(
                body=escape(
                    self.env._(
                        "Discarded %(ml)s ml: %(reason)s",
                        ml=format(vial.waste_ml, "g"),
                        reason=reason,
                    )
                )
            )
        return True

    @api.model
    def _cron_discard_beyond_use(self):
        """Vials past their beyond-use time are discarded, what is left is waste."""
        # a scheduled job, no user's request: opened vials are read-only to every group
        # and written by the addon's flows alone, this one included
        self.sudo().search(
            [("state", "=", "open"), ("beyond_use_at", "<=", fields.Datetime.now())]
        )._meso_discard(self.env._("past its beyond-use time"))
        return True
