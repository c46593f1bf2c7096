from odoo import api, fields, models

SKIN_TYPES = [
    ("1", "I — always burns, never tans"),
    ("2", "II — usually burns, tans minimally"),
    ("3", "III — sometimes burns, tans uniformly"),
    ("4", "IV — burns minimally, always tans"),
    ("5", "V — very rarely burns, tans very easily"),
    ("6", "VI — never burns"),
]


class MesoPatient(models.Model):
    _name = "meso.patient"
    _description = "Mesotherapy patient"
    _inherit = ["mail.thread", "mail.activity.mixin", "meso.company.check.mixin"]
    _order = "name"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    partner_id = fields.Many2one(
        "res.partner",
        "Contact",
        check_company=True,
        help="The patient's contact card (address, phone, e-mail).",
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    active = fields.Boolean(default=True)
    birthdate = fields.Date()
    age = fields.Integer(compute="_compute_age")
    skin_type = fields.Selection(SKIN_TYPES, "Skin type (Fitzpatrick)", tracking=True)
    allergy_ingredient_ids = fields.Many2many(
        "meso.ingredient",
        string="Allergies",
        check_company=True,
        tracking=True,
        help="Active ingredients this patient must never receive.",
    )
    is_pregnant = fields.Boolean("Pregnant", tracking=True)
    is_breastfeeding = fields.Boolean("Breastfeeding", tracking=True)
    keloid_history = fields.Boolean("History of keloid scarring", tracking=True)
    active_skin_infection = fields.Boolean(
        "Active skin infection", tracking=True, help="Or an active dermatological condition."
    )
    skin_condition_notes = fields.Text("Other skin conditions", tracking=True)
    screened_on = fields.Date("Last screening", tracking=True)
    formulation_ids = fields.One2many("meso.formulation", "patient_id")
    session_ids = fields.One2many("meso.treatment.session", "patient_id")
    udi_register_ids = fields.One2many(
        "meso.treatment.consumption",
        "patient_id",
        "UDI register",
        domain=[("udi_register", "=", True), ("session_state", "=", "done")],
        readonly=True,
        help="Every device whose UDI the clinic keeps (class III implantable) the patient "
        "received.",
    )
    formulation_count = fields.Integer(compute="_compute_counts")
    session_count = fields.Integer(compute="_compute_counts")
    next_session_date = fields.Datetime(compute="_compute_counts")
    contraindication_summary = fields.Char(compute="_compute_contraindication_summary")

    @api.depends("birthdate")
    def _compute_age(self):
        today = fields.Date.context_today(self)
        for patient in self:
            born = patient.birthdate
            patient.age = (
                today.year - born.year - ((today.month, today.day) < (born.month, born.day))
                if born
                else 0
            )

    @api.depends("formulation_ids", "session_ids.state", "session_ids.date")
    def _compute_counts(self):
        for patient in self:
            patient.formulation_count = len(patient.formulation_ids)
            sessions = patient.session_ids
            patient.session_count = len(sessions)
            planned = sessions.filtered(lambda s: s.state == "planned").sorted("date")
            patient.next_session_date = planned[:1].date

    @api.depends("is_pregnant", "is_breastfeeding", "keloid_history", "active_skin_infection")
    def _compute_contraindication_summary(self):
        for patient in self:
            patient.contraindication_summary = ", ".join(patient._meso_condition_reasons())

    def _meso_condition_reasons(self):
        """The patient's own contraindications, whatever is injected."""
        self.ensure_one()
        flags = [
            (self.is_pregnant, self.env._("pregnant")),
            (self.is_breastfeeding, self.env._("breastfeeding")),
            (self.keloid_history, self.env._("history of keloid scarring")),
            (self.active_skin_infection, self.env._("active skin infection")),
        ]
        return [reason for flagged, reason in flags if flagged]

    def action_view_sessions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "meso_inventory.meso_treatment_session_action"
        )
        action["domain"] = [("patient_id", "=", self.id)]
        action["context"] = {"default_patient_id": self.id}
        return action

    def action_view_udi_register(self):
        """The patient's UDI register, to filter and group."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "meso_inventory.meso_treatment_consumption_action_udi_register"
        )
        action["name"] = self.env._("UDI register of %(patient)s", patient=self.name)
        action["domain"] = [("patient_id", "=", self.id), ("udi_register", "=", True)]
        return action
