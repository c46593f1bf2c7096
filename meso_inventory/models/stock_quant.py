from collections import defaultdict

from odoo import fields, models
from odoo.osv import expression


class StockQuant(models.Model):
    _inherit = "stock.quant"

    meso_currency_id = fields.Many2one(related="company_id.currency_id", string="Clinic currency")
    meso_value = fields.Monetary(
        "Stock value",
        currency_field="meso_currency_id",
        compute="_compute_meso_value",
        groups="meso_inventory.group_manager",
        help="Quantity at the vial's average cost in Odoo's valuation.",
    )

    def _compute_meso_value(self):
        costs = self._meso_unit_costs()
        for quant in self:
            unit_cost = costs.get((quant.company_id.id, quant.product_id.id), 0.0)
            quant.meso_value = quant.quantity * unit_cost

    def _meso_unit_costs(self):
        """{(company id, product id): average unit cost} from Odoo's valuation layers,
        the product's cost where it has none.

        Valuation layers are the Inventory administrators' to read; a clinic manager sees
        this value for quants she can read (record rules bind them to her companies), and
        only the average per vial is read, hence sudo()."""
        costs = {}
        products_by_company = defaultdict(lambda: self.env["product.product"])
        for quant in self:
            products_by_company[quant.company_id] |= quant.product_id
        for company, products in products_by_company.items():
            for product, value, quantity in (
                self.env["stock.valuation.layer"]
                .sudo()
                ._read_group(
                    [("product_id", "in", products.ids), ("company_id", "=", company.id)],
                    ["product_id"],
                    ["value:sum", "quantity:sum"],
                )
            ):
                if quantity:
                    costs[company.id, product.id] = value / quantity
            for product in products:
                costs.setdefault(
                    (company.id, product.id), product.with_company(company).standard_price
                )
        return costs

    def _get_gather_domain(self, *args, **kwargs):
        """A recalled lot is never reserved: the reservation's search for quants (not
        strict) skips it, as product_expiry's skips expired lots. The recall's own
        transfers (quarantine, return to the vendor) name their lots and pass
        meso_recalled_ok."""
        domain = super()._get_gather_domain(*args, **kwargs)
        # (product, location, lot, package, owner, strict), strict by name or position
        strict = kwargs.get("strict", len(args) > 5 and args[5])
        if strict or self.env.context.get("meso_recalled_ok"):
            return domain
        return expression.AND(
            [
                domain,
                ["|", ("lot_id", "=", False), ("lot_id.meso_recall_state", "!=", "recalled")],
            ]
        )
