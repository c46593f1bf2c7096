from odoo import models
from odoo.osv import expression


class StockQuant(models.Model):
    _inherit = "stock.quant"

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
