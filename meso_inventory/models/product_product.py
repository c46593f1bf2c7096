from odoo import api, models
from odoo.exceptions import ValidationError

from .barcode_nomenclature import is_gtin


class ProductProduct(models.Model):
    _inherit = "product.product"

    @api.constrains("barcode")
    def _check_meso_gtin(self):
        for product in self.filtered(lambda p: p.meso_is_vial and p.barcode):
            if not is_gtin(product.barcode):
                raise ValidationError(
                    self.env._(
                        "The barcode %(barcode)s of the vial %(product)s is not a GTIN: a "
                        "vial's barcode is the GTIN of its DataMatrix (8, 12, 13 or 14 digits "
                        "ending with their check digit).",
                        barcode=product.barcode,
                        product=product.display_name,
                    )
                )

    @api.model
    def _meso_search_gtin(self, gtin, company):
        """The products of `company` (or shared) whose barcode is this GTIN, written on
        14 digits in a DataMatrix and often on 13 (EAN-13), 12 (UPC-A) or 8 on the
        product."""
        codes = {gtin}
        for length in (13, 12, 8):
            if gtin[: 14 - length].strip("0") == "":
                codes.add(gtin[14 - length :])
        return self.with_context(active_test=False).search(
            [("barcode", "in", sorted(codes)), ("company_id", "in", [company.id, False])]
        )
