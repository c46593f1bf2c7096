from odoo import api, fields, models
from odoo.exceptions import UserError


class MesoScanMixin(models.AbstractModel):
    """Reading a vial's GS1 DataMatrix (its UDI) on a document of a company: a
    receipt, a treatment session. `scan_vial(barcode)` is the document's."""

    _name = "meso.scan.mixin"
    _description = "Scanning of vials"

    def _meso_read_udi(self, barcode):
        """The UDI of a scanned vial and its product: refused when the code is not a GS1
        code or a GTIN, when no product of the document's company has its GTIN, or when
        that product is not an active mesotherapy vial."""
        self.ensure_one()
        nomenclature = self.company_id._meso_gs1_nomenclature()
        udi = nomenclature._meso_parse_udi(barcode)
        code = nomenclature._meso_printable(udi["code"])
        products = self.env["product.product"]._meso_search_gtin(udi["gtin"], self.company_id)
        if not products:
            raise UserError(
                self.env._(
                    "No product has the GTIN %(gtin)s (scanned: %(code)s). Set it as the "
                    "barcode of the vial, on its form.",
                    gtin=udi["gtin"],
                    code=code,
                )
            )
        product = products.filtered("meso_is_vial")[:1] or products[:1]
        if not product.meso_is_vial or not product.active:
            raise UserError(
                self.env._(
                    "%(product)s (scanned: %(code)s) is not an active mesotherapy vial.",
                    product=product.display_name,
                    code=code,
                )
            )
        return udi, product

    @api.model
    def _meso_udi_expiry_of(self, lot):
        return fields.Date.to_date(lot.expiration_date) if lot.expiration_date else None

    def _meso_check_udi_expiry(self, udi, lot):
        """A scanned expiry contradicting the lot's is a mislabelled vial or a mistyped lot."""
        expiry = self._meso_udi_expiry_of(lot)
        if udi["expiry"] and expiry and udi["expiry"] != expiry:
            raise UserError(
                self.env._(
                    "Lot %(lot)s of %(product)s expires on %(lot_expiry)s, but the scanned "
                    "vial says %(expiry)s (scanned: %(code)s). Check the vial and the lot.",
                    lot=lot.name,
                    product=lot.product_id.display_name,
                    lot_expiry=fields.Date.to_string(expiry),
                    expiry=fields.Date.to_string(udi["expiry"]),
                    code=self.env["barcode.nomenclature"]._meso_printable(udi["code"]),
                )
            )
