from odoo import api, fields, models
from odoo.exceptions import ValidationError

CONCENTRATION_UNITS = [
    ("mg_ml", "mg/ml"),
    ("percent", "% (w/v)"),
    ("iu_ml", "IU/ml"),
    ("ug_ml", "µg/ml"),
]

# Amount of an ingredient in one ml, in the unit the vial's amount is shown in:
# a w/v percentage is grams per 100 ml, i.e. 10 mg per ml per percent.
AMOUNT_PER_ML = {
    "mg_ml": (1.0, "mg"),
    "percent": (10.0, "mg"),
    "iu_ml": (1.0, "IU"),
    "ug_ml": (1.0, "µg"),
}


class MesoCompositionLine(models.Model):
    _name = "meso.composition.line"
    _inherit = ["meso.number.check.mixin"]
    _description = "Active ingredient of a vial"
    _meso_number_bounds = {"concentration": (-1e6, 1e6)}  # zero and below: _check_concentration
    _order = "product_tmpl_id, sequence, id"
    _check_company_auto = True

    sequence = fields.Integer(default=10)
    product_tmpl_id = fields.Many2one(
        "product.template", string="Vial", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="product_tmpl_id.company_id", store=True)
    ingredient_id = fields.Many2one(
        "meso.ingredient",
        required=True,
        ondelete="restrict",
        index=True,
        check_company=True,
    )
    ingredient_category = fields.Selection(related="ingredient_id.category")
    concentration = fields.Float(required=True, digits=(16, 4))
    concentration_unit = fields.Selection(CONCENTRATION_UNITS, required=True, default="mg_ml")
    amount_per_vial = fields.Float(
        compute="_compute_amount_per_vial",
        digits=(16, 4),
        help="Concentration × vial volume.",
    )
    amount_unit = fields.Char(compute="_compute_amount_per_vial")

    @api.depends("concentration", "concentration_unit", "product_tmpl_id.meso_volume_ml")
    def _compute_amount_per_vial(self):
        for line in self:
            factor, unit = AMOUNT_PER_ML[line.concentration_unit or "mg_ml"]
            line.amount_per_vial = line.concentration * factor * line.product_tmpl_id.meso_volume_ml
            line.amount_unit = unit

    @api.model
    def _meso_profile(self, product_volumes):
        """Total of each ingredient in [(product template, ml)]: [(ingredient, amount, unit)]."""
        totals = {}
        for template, volume_ml in product_volumes:
            for line in template.meso_composition_ids:
                factor, unit = AMOUNT_PER_ML[line.concentration_unit]
                key = (line.ingredient_id, unit)
                totals[key] = totals.get(key, 0.0) + line.concentration * factor * volume_ml
        return sorted(
            ((ingredient, amount, unit) for (ingredient, unit), amount in totals.items()),
            key=lambda item: item[0].name,
        )

    @api.constrains("concentration")
    def _check_concentration(self):
        for line in self:
            if line.concentration <= 0:
                raise ValidationError(
                    self.env._(
                        "The concentration of %(ingredient)s in %(product)s must be greater "
                        "than zero.",
                        ingredient=line.ingredient_id.display_name,
                        product=line.product_tmpl_id.display_name,
                    )
                )

    @api.constrains("product_tmpl_id", "ingredient_id")
    def _check_ingredient_once(self):
        groups = self._read_group(
            [
                ("product_tmpl_id", "in", self.product_tmpl_id.ids),
                ("ingredient_id", "in", self.ingredient_id.ids),
            ],
            ["product_tmpl_id", "ingredient_id"],
            ["__count"],
            having=[("__count", ">", 1)],
        )
        if groups:
            product, ingredient, _count = groups[0]
            raise ValidationError(
                self.env._(
                    "%(ingredient)s is listed twice in the composition of %(product)s: "
                    "keep one line per ingredient.",
                    ingredient=ingredient.display_name,
                    product=product.display_name,
                )
            )
