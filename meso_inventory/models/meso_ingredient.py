from odoo import fields, models

INGREDIENT_CATEGORIES = [
    ("hyaluronic_acid", "Hyaluronic acid"),
    ("vitamin", "Vitamin"),
    ("peptide", "Peptide"),
    ("amino_acid", "Amino acid"),
    ("mineral", "Mineral"),
    ("coenzyme", "Coenzyme"),
    ("enzyme", "Enzyme"),
    ("lipolytic", "Lipolytic agent"),
    ("anaesthetic", "Anaesthetic"),
    ("other", "Other"),
]


class MesoIngredient(models.Model):
    _name = "meso.ingredient"
    _description = "Active ingredient"
    _order = "name"

    name = fields.Char(required=True)
    category = fields.Selection(INGREDIENT_CATEGORIES, required=True, default="other")
    description = fields.Text(
        translate=True, help="What the ingredient is used for (hydration, collagen, ...)."
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    active = fields.Boolean(default=True)
    product_count = fields.Integer(compute="_compute_product_count", string="Vials")

    _sql_constraints = [
        (
            "name_company_uniq",
            "unique(name, company_id)",
            "An active ingredient with this name already exists in this company.",
        ),
    ]

    def _compute_product_count(self):
        groups = self.env["meso.composition.line"]._read_group(
            [("ingredient_id", "in", self.ids)], ["ingredient_id"], ["__count"]
        )
        counts = {ingredient.id: count for ingredient, count in groups}
        for ingredient in self:
            ingredient.product_count = counts.get(ingredient.id, 0)

    def action_view_products(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "meso_inventory.product_template_action_vial"
        )
        action["domain"] = [("meso_composition_ids.ingredient_id", "=", self.id)]
        return action
