from odoo import api, fields, models
from odoo.exceptions import ValidationError

SEVERITIES = [
    ("mild", "Mild"),
    ("moderate", "Moderate"),
    ("severe", "Severe"),
    ("serious", "Serious"),
]


class MesoAdverseEvent(models.Model):
    """An adverse reaction noticed after a session. Medical data: clinic roles only,
    the session's company only; the lots involved come from the session's ledger."""

    _name = "meso.adverse.event"
    _description = "Adverse event after a treatment session"
    _inherit = ["mail.thread"]
    _order = "date desc, id desc"
    _check_company_auto = True

    session_id = fields.Many2one(
        "meso.treatment.session",
        required=True,
        index=True,
        ondelete="restrict",
        check_company=True,
        tracking=True,
        domain="[('state', '=', 'done')]",
    )
    patient_id = fields.Many2one(related="session_id.patient_id", store=True, index=True)
    practitioner_id = fields.Many2one(related="session_id.practitioner_id", store=True)
    company_id = fields.Many2one(
        related="session_id.company_id", store=True, index=True, precompute=True
    )
    date = fields.Date(
        "Noticed on", required=True, default=fields.Date.context_today, tracking=True
    )
    severity = fields.Selection(SEVERITIES, required=True, default="mild", tracking=True)
    description = fields.Text(required=True)
    treatment = fields.Text("Treatment given")
    outcome = fields.Text()
    reported = fields.Boolean("Reported to the authority", tracking=True)
    authority_ref = fields.Char("Authority reference", tracking=True)
    lot_ids = fields.Many2many(
        "stock.lot",
        "meso_adverse_event_stock_lot_rel",
        "event_id",
        "lot_id",
        "Lots involved",
        compute="_compute_lot_ids",
        store=True,
    )

    @api.depends("session_id.consumption_ids.lot_id", "session_id.consumption_ids.returned")
    def _compute_lot_ids(self):
        for event in self:
            # Read as superuser: a stored compute must not depend on who triggers it (a
            # manager's cancellation marks ledger rows returned), and every clinic role
            # that may see the event may read the session's ledger anyway.
            event.lot_ids = (
                event.session_id.sudo()
                .consumption_ids.filtered(lambda row: not row.returned)
                .lot_id
            )

    @api.depends("session_id", "date")
    def _compute_display_name(self):
        for event in self:
            event.display_name = self.env._(
                "%(session)s · %(date)s",
                session=event.session_id.name or "",
                date=fields.Date.to_string(event.date) if event.date else "",
            )

    @api.constrains("session_id")
    def _check_session_done(self):
        for event in self:
            if event.session_id.state != "done":
                raise ValidationError(
                    self.env._(
                        "An adverse event follows a completed session: session %(session)s "
                        "is not completed.",
                        session=event.session_id.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        events = super().create(vals_list)
        events.lot_ids._meso_alert_adverse_events()
        return events

    def write(self, vals):
        result = super().write(vals)
        if "session_id" in vals:
            self.lot_ids._meso_alert_adverse_events()
        return result
