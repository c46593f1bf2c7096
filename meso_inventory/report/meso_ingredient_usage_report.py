from odoo import fields, models, tools

from ..models.meso_formulation import TREATMENT_AREAS
from ..models.meso_ingredient import INGREDIENT_CATEGORIES


class MesoIngredientUsageReport(models.Model):
    """How much of each active ingredient was injected: consumption × composition."""

    _name = "meso.ingredient.usage.report"
    _description = "Active ingredients injected"
    _auto = False
    _order = "date desc"

    date = fields.Datetime(readonly=True)
    session_id = fields.Many2one("meso.treatment.session", readonly=True)
    patient_id = fields.Many2one("meso.patient", readonly=True)
    practitioner_id = fields.Many2one("res.users", readonly=True)
    product_id = fields.Many2one("product.product", "Vial", readonly=True)
    lot_id = fields.Many2one("stock.lot", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    treatment_area = fields.Selection(TREATMENT_AREAS, readonly=True)
    ingredient_id = fields.Many2one("meso.ingredient", readonly=True)
    ingredient_category = fields.Selection(INGREDIENT_CATEGORIES, readonly=True)
    unit = fields.Selection([("mg", "mg"), ("ug", "µg"), ("iu", "IU")], readonly=True)
    # amounts of different units are never added up: one measure per unit
    amount = fields.Float("Amount (in its unit)", readonly=True, digits=(16, 3), aggregator=None)
    amount_mg = fields.Float("Amount (mg)", readonly=True, digits=(16, 3))
    amount_ug = fields.Float("Amount (µg)", readonly=True, digits=(16, 3))
    amount_iu = fields.Float("Amount (IU)", readonly=True, digits=(16, 3))
    volume_ml = fields.Float("Vial ml injected", readonly=True, digits=(16, 2))

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        # the unit factors are those of meso.composition.line's AMOUNT_PER_ML
        self.env.cr.execute(
            f"""
            CREATE OR REPLACE VIEW {self._table} AS (
                SELECT row_number() OVER (ORDER BY c.id, cl.id) AS id,
                       c.date, c.session_id, c.patient_id, c.practitioner_id,
                       c.product_id, c.lot_id, c.company_id, c.treatment_area,
                       cl.ingredient_id, i.category AS ingredient_category,
                       CASE cl.concentration_unit
                            WHEN 'ug_ml' THEN 'ug' WHEN 'iu_ml' THEN 'iu' ELSE 'mg' END AS unit,
                       a.amount,
                       CASE WHEN cl.concentration_unit IN ('mg_ml', 'percent')
                            THEN a.amount END AS amount_mg,
                       CASE WHEN cl.concentration_unit = 'ug_ml' THEN a.amount END AS amount_ug,
                       CASE WHEN cl.concentration_unit = 'iu_ml' THEN a.amount END AS amount_iu,
                       c.volume_ml
                  FROM meso_treatment_consumption c
                  JOIN product_product pp ON pp.id = c.product_id
                  JOIN meso_composition_line cl ON cl.product_tmpl_id = pp.product_tmpl_id
                  JOIN meso_ingredient i ON i.id = cl.ingredient_id
                 CROSS JOIN LATERAL (
                       SELECT c.volume_ml * cl.concentration
                              * CASE cl.concentration_unit WHEN 'percent' THEN 10 ELSE 1 END
                              AS amount
                 ) a
                 WHERE c.session_state = 'done'
            )
            """
        )
