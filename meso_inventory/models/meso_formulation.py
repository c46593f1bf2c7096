from datetime import timedelta

from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

TREATMENT_AREAS = [
    ("face", "Face"),
    ("neck", "Neck"),
    ("decollete", "Décolleté"),
    ("hands", "Hands"),
    ("scalp", "Scalp"),
    ("body", "Body"),
]
GOALS = [
    ("hydration", "Hydration"),
    ("fine_lines", "Fine lines"),
    ("radiance", "Tone and radiance"),
    ("hair_loss", "Hair loss"),
    ("fat_cellulite", "Fat and cellulite"),
    ("other", "Other"),
]
# (field, minimum, maximum) of the protocol, as clinical practice frames it.
PROTOCOL_RANGES = [
    ("session_count", 3, 6),
    ("interval_days", 7, 14),
    ("maintenance_interval_days", 60, 90),
]


class MesoFormulation(models.Model):
    _name = "meso.formulation"
    _description = "Mesotherapy formulation and protocol"
    _inherit = [
        "mail.thread",
        "mail.activity.mixin",
        "meso.company.check.mixin",
        "meso.number.check.mixin",
    ]
    _order = "is_template desc, name"
    # the protocol's own ranges: _check_protocol
    _meso_number_bounds = {name: (-1e6, 1e6) for name, _low, _high in PROTOCOL_RANGES}
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    is_template = fields.Boolean(
        "Protocol template",
        default=False,  # a default makes the patient constraint run on every create
        help="A clinic protocol that can be copied into patients' formulations.",
    )
    template_id = fields.Many2one(
        "meso.formulation",
        "From protocol",
        domain="[('is_template', '=', True)]",
        check_company=True,
        copy=False,
    )
    patient_id = fields.Many2one(
        "meso.patient", index=True, tracking=True, check_company=True, ondelete="restrict"
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    active = fields.Boolean(default=True)
    treatment_area = fields.Selection(TREATMENT_AREAS, required=True, default="face", tracking=True)
    goal = fields.Selection(GOALS, required=True, default="hydration", tracking=True)
    notes = fields.Html()
    line_ids = fields.One2many("meso.formulation.line", "formulation_id", "Vials", copy=True)
    ingredient_profile_html = fields.Html(
        "Ingredient profile", compute="_compute_ingredient_profile_html", sanitize=False
    )
    session_count = fields.Integer("Initial sessions", default=4, tracking=True)
    interval_days = fields.Integer("Interval (days)", default=10, tracking=True)
    maintenance_interval_days = fields.Integer(
        "Maintenance every (days)", default=75, tracking=True
    )
    course_start_date = fields.Datetime("Course starts", default=fields.Datetime.now)
    session_ids = fields.One2many("meso.treatment.session", "formulation_id", "Sessions")
    planned_session_count = fields.Integer(compute="_compute_session_stats")
    done_session_count = fields.Integer(compute="_compute_session_stats")

    @api.depends("session_ids.state")
    def _compute_session_stats(self):
        for formulation in self:
            states = formulation.session_ids.mapped("state")
            formulation.planned_session_count = states.count("planned")
            formulation.done_session_count = states.count("done")

    def _get_ingredient_profile(self):
        """[(ingredient, total amount, unit)] of one session, summed across vials."""
        self.ensure_one()
        return self.env["meso.composition.line"]._meso_profile(
            [(line.product_id.product_tmpl_id, line.volume_ml) for line in self.line_ids]
        )

    @api.depends(
        "line_ids.volume_ml",
        "line_ids.product_id.meso_composition_ids.concentration",
        "line_ids.product_id.meso_composition_ids.concentration_unit",
    )
    def _compute_ingredient_profile_html(self):
        for formulation in self:
            profile = formulation._get_ingredient_profile()
            if not profile:
                formulation.ingredient_profile_html = False
                continue
            rows = Markup("").join(
                Markup("<tr><td>%s</td><td class='text-end'>%s %s</td></tr>")
                % (ingredient.display_name, f"{amount:,.3g}", unit)
                for ingredient, amount, unit in profile
            )
            formulation.ingredient_profile_html = Markup(
                "<table class='table table-sm o_meso_profile'><thead><tr><th>%s</th>"
                "<th class='text-end'>%s</th></tr></thead><tbody>%s</tbody></table>"
            ) % (escape(self.env._("Active ingredient")), escape(self.env._("Per session")), rows)

    @api.constrains("is_template", "patient_id")
    def _check_patient(self):
        for formulation in self:
            if not formulation.is_template and not formulation.patient_id:
                raise ValidationError(
                    self.env._(
                        "Formulation %(name)s needs a patient (or mark it as a protocol template).",
                        name=formulation.name,
                    )
                )

    @api.constrains("session_count", "interval_days", "maintenance_interval_days")
    def _check_protocol(self):
        for formulation in self:
            for field_name, low, high in PROTOCOL_RANGES:
                value = formulation[field_name]
                if not low <= value <= high:
                    raise ValidationError(
                        self.env._(
                            "%(name)s: %(label)s must be between %(low)s and %(high)s "
                            "(it is %(value)s).",
                            name=formulation.name,
                            value=value,
                            label=self._fields[field_name]._description_string(self.env),
                            low=low,
                            high=high,
                        )
                    )

    @api.onchange("template_id")
    def _onchange_template_id(self):
        if not self.template_id:
            return
        values = self.template_id._meso_protocol_values()
        # the protocol's name, unless the formulation already has one of its own (a
        # name taken from another protocol is replaced)
        if not self.name or self.search_count(
            [("is_template", "=", True), ("name", "=", self.name)], limit=1
        ):
            values["name"] = self.template_id.name
        self.update(values)

    def _meso_protocol_values(self):
        """What a patient's formulation takes from a protocol template."""
        self.ensure_one()
        return {
            "treatment_area": self.treatment_area,
            "goal": self.goal,
            "session_count": self.session_count,
            "interval_days": self.interval_days,
            "maintenance_interval_days": self.maintenance_interval_days,
            "line_ids": [fields.Command.clear()]
            + [
                fields.Command.create(
                    {
                        "sequence": line.sequence,
                        "product_id": line.product_id.id,
                        "volume_ml": line.volume_ml,
                    }
                )
                for line in self.line_ids
            ],
        }

    def action_use_template(self, patient):
        """A patient's own formulation, copied from this protocol template."""
        self.ensure_one()
        return self.copy(
            {
                "name": self.name,
                "is_template": False,
                "template_id": self.id,
                "patient_id": patient.id,
            }
        )

    def action_plan_course(self):
        """Plan what is left of the initial series, then the first maintenance session.

        Sessions already done count towards the series; sessions still planned are
        replaced, so that the course can be planned again after a change of protocol."""
        self.ensure_one()
        if self.is_template:
            raise UserError(
                self.env._(
                    "A protocol template has no patient: copy it into a patient's "
                    "formulation first."
                )
            )
        if not self.line_ids:
            raise UserError(
                self.env._("Add the vials of %(name)s before planning its course.", name=self.name)
            )
        self.session_ids.filtered(lambda s: s.state == "planned").unlink()
        done = self.session_ids.filtered(lambda s: s.state == "done" and not s.is_maintenance)
        last_done = max(done.mapped("date"), default=None)
        start = self.course_start_date or fields.Datetime.now()
        if last_done and start <= last_done:
            start = last_done + timedelta(days=self.interval_days)
        remaining = max(self.session_count - len(done), 0)
        dates = [start + timedelta(days=i * self.interval_days) for i in range(remaining)]
        maintenance = (dates[-1] if dates else last_done or start) + timedelta(
            days=self.maintenance_interval_days
        )
        dates.append(maintenance)
        practitioner = self._meso_course_practitioner()
        sessions = self.env["meso.treatment.session"].create(
            [
                {
                    "patient_id": self.patient_id.id,
                    "formulation_id": self.id,
                    "company_id": self.company_id.id,
                    "date": date,
                    "is_maintenance": index == remaining,
                    "practitioner_id": practitioner.id,
                }
                for index, date in enumerate(dates)
            ]
        )
        self._message_log(
            body=escape(
                self.env._(
                    "Course planned: %(count)s more session(s) every %(interval)s days "
                    "(%(done)s done), then maintenance on %(maintenance)s.",
                    count=remaining,
                    done=len(done),
                    interval=self.interval_days,
                    maintenance=fields.Date.to_string(maintenance),
                )
            )
        )
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "meso_inventory.meso_treatment_session_action"
        )
        action.update(
            domain=[("id", "in", sessions.ids)],
            # the course as planned, not the practitioner's day
            context={"default_patient_id": self.patient_id.id},
            view_mode="calendar,list,form",
            views=[(False, "calendar"), (False, "list"), (False, "form")],
        )
        return action

    def _meso_course_practitioner(self):
        """Who gives the planned sessions: the practitioner of the course's latest
        session, so the patient keeps hers; else whoever plans it (not the superuser
        that loads data)."""
        self.ensure_one()
        given = self.session_ids.filtered(
            lambda s: s.state != "cancelled" and s.practitioner_id
        ).sorted("date")
        if given:
            return given[-1].practitioner_id
        return self.env["res.users"] if self.env.user._is_superuser() else self.env.user
