from odoo import Command, api, fields, models
from odoo.exceptions import ValidationError

from .meso_number_check_mixin import check_numbers

APPROVED_FOR_INJECTION = ("ce", "fda")


# zero and negative values: _check_meso_vial
NUMBER_BOUNDS = {"meso_volume_ml": (-1e6, 1000), "meso_in_use_hours": (0, 24 * 366)}


class ProductTemplate(models.Model):
    _inherit = "product.template"

    meso_is_vial = fields.Boolean(
        "Mesotherapy vial",
        help="An injectable product used in mesotherapy: stocked by lot with expiry dates.",
    )
    meso_volume_ml = fields.Float("Volume (ml)", digits=(16, 2))
    meso_container = fields.Selection(
        [("vial", "Vial"), ("ampoule", "Ampoule"), ("syringe", "Pre-filled syringe")],
        "Container",
        default="vial",
    )
    meso_multi_dose = fields.Boolean(
        "Multi-dose", help="Can be drawn from in several sessions once opened."
    )
    meso_in_use_hours = fields.Float(
        "Stability once opened (h)",
        help="Hours an opened vial stays usable (its beyond-use time).",
    )
    meso_regulatory_status = fields.Selection(
        [
            ("ce", "CE-marked"),
            ("fda", "FDA-cleared"),
            ("other", "Other authorisation"),
            ("none", "None"),
        ],
        "Regulatory status",
        default="none",
    )
    meso_regulatory_ref = fields.Char(
        "Regulatory reference", help="CE certificate or FDA clearance number."
    )
    meso_device_class = fields.Selection(
        [
            ("medicine", "Medicinal product"),
            ("i", "Class I"),
            ("iia", "Class IIa"),
            ("iib", "Class IIb"),
            ("iii", "Class III (implantable)"),
        ],
        "Device class",
        help="Its class under the EU Medical Device Regulation (MDR): injectable dermal "
        "fillers and skin boosters are class III (Annex XVI).",
    )
    meso_udi_register = fields.Boolean(
        "UDI register required",
        compute="_compute_meso_udi_register",
        store=True,
        readonly=False,
        help="The clinic keeps the UDI (GTIN, lot, serial, expiry) of every device of this "
        "product a patient receives (MDR Art. 27(9), class III implantable devices).",
    )
    meso_storage_note = fields.Char("Storage", help="e.g. 2–8 °C, protect from light.")
    meso_composition_ids = fields.One2many(
        "meso.composition.line", "product_tmpl_id", "Composition", copy=True
    )
    meso_injection_approved = fields.Boolean(
        "Approved for injection",
        compute="_compute_meso_injection_approved",
        store=True,
        help="CE-marked or FDA-cleared: the only products a clinic may inject.",
    )

    @api.depends("meso_regulatory_status")
    def _compute_meso_injection_approved(self):
        for template in self:
            template.meso_injection_approved = (
                template.meso_regulatory_status in APPROVED_FOR_INJECTION
            )

    @api.depends("meso_device_class")
    def _compute_meso_udi_register(self):
        for template in self:
            template.meso_udi_register = template.meso_device_class == "iii"

    @api.model
    def _meso_vial_stock_values(self):
        """What makes a vial traceable: stocked, by lot, with expiry dates."""
        return {
            "type": "consu",
            "is_storable": True,
            "tracking": "lot",
            "use_expiration_date": True,
        }

    @api.model
    def _meso_buy_route(self):
        return self.env.ref("purchase_stock.route_warehouse0_buy", raise_if_not_found=False)

    @api.model_create_multi
    def create(self, vals_list):
        buy = self._meso_buy_route()
        for vals in vals_list:
            check_numbers(self, vals, NUMBER_BOUNDS)
            if vals.get("meso_is_vial"):
                vals.update(self._meso_vial_stock_values())
                # A vial's composition and lots belong to one clinic's company.
                vals.setdefault("company_id", self.env.company.id)
                if buy and "route_ids" not in vals:
                    vals["route_ids"] = [Command.link(buy.id)]
        return super().create(vals_list)

    def write(self, vals):
        check_numbers(self, vals, NUMBER_BOUNDS)
        if vals.get("meso_is_vial"):
            vals = dict(vals, **self._meso_vial_stock_values())
            buy = self._meso_buy_route()
            if buy and "route_ids" not in vals:
                vals["route_ids"] = [Command.link(buy.id)]
        return super().write(vals)

    @api.onchange("meso_is_vial")
    def _onchange_meso_is_vial(self):
        if self.meso_is_vial:
            self.update(self._meso_vial_stock_values())
            self.company_id = self.company_id or self.env.company
            self.route_ids |= self._meso_buy_route() or self.env["stock.route"]

    @api.constrains("meso_is_vial")
    def _check_meso_gtin(self):
        self.filtered("meso_is_vial").product_variant_ids._check_meso_gtin()

    @api.constrains(
        "meso_is_vial",
        "meso_volume_ml",
        "meso_multi_dose",
        "meso_in_use_hours",
        "is_storable",
        "tracking",
        "use_expiration_date",
    )
    def _check_meso_vial(self):
        for template in self.filtered("meso_is_vial"):
            if template.meso_volume_ml <= 0:
                raise ValidationError(
                    self.env._(
                        "Set the volume in ml of the vial %(product)s: it must be greater "
                        "than zero.",
                        product=template.display_name,
                    )
                )
            if template.meso_multi_dose and template.meso_in_use_hours <= 0:
                raise ValidationError(
                    self.env._(
                        "%(product)s is multi-dose: set how many hours it stays usable "
                        "once opened.",
                        product=template.display_name,
                    )
                )
            if not (
                template.is_storable and template.tracking == "lot" and template.use_expiration_date
            ):
                raise ValidationError(
                    self.env._(
                        "%(product)s is a mesotherapy vial: it must be tracked in stock "
                        "by lot, with expiration dates.",
                        product=template.display_name,
                    )
                )
