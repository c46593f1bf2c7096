import re

from odoo import api, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools.barcode import check_barcode_encoding

# GS1's FNC1 as scanners send it between variable-length fields (ASCII 29, the group
# separator): what the GS1 nomenclature's parser splits on. Not imported from
# barcodes_gs1_nomenclature, which an installed wheel cannot import before Odoo sets
# its addons path.
FNC1_CHAR = "\x1d"

# the lengths of a GTIN: GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13), GTIN-14
GTIN_ENCODINGS = ("ean8", "upca", "ean13", "gtin14")
# GS1 Application Identifiers of a device's UDI
UDI_AIS = {"01": "gtin", "17": "expiry", "10": "lot", "21": "serial"}


def gtin14(code):
    """A GTIN of any length as the 14 digits of AI (01)."""
    return code.zfill(14) if code and code.isdigit() else code


def is_gtin(code):
    """A GTIN-8/12/13/14 with its check digit (a 13-digit code starting with 0 is a
    UPC-A written on 13 digits)."""
    code = code or ""
    return any(check_barcode_encoding(code, encoding) for encoding in GTIN_ENCODINGS) or (
        len(code) == 13 and code[0] == "0" and check_barcode_encoding(code[1:], "upca")
    )


class BarcodeNomenclature(models.Model):
    _inherit = "barcode.nomenclature"

    def _meso_parse_udi(self, barcode):
        """The UDI read from a scanned code with this GS1 nomenclature: a dict with
        `gtin` (14 digits), `expiry` (a date), `lot`, `serial` (None when absent) and
        `code` (what was scanned). The element string is parsed by Odoo's GS1 rules,
        after the nomenclature's FNC1 stand-ins (`#`, `Alt029`: a keyboard or an
        XML-RPC client cannot send ASCII 29) became the FNC1 itself, as the web client's
        barcode service does. A plain GTIN (an EAN-13 on the box) gives the GTIN alone.
        Anything else is refused with a UserError naming the code."""
        self.ensure_one()
        code = str(barcode or "").strip()
        if not code:
            raise UserError(self.env._("Nothing was scanned."))
        normalised = code
        if self.gs1_separator_fnc1:
            normalised = re.sub(self.gs1_separator_fnc1, FNC1_CHAR, code)
        try:
            elements = self.parse_barcode(normalised) or []
        except (ValidationError, ValueError):  # a date like 251345
            elements = []
        udi = dict.fromkeys(UDI_AIS.values())
        udi["code"] = code
        if isinstance(elements, dict):  # a nomenclature that is not GS1 found no rule
            elements = []
        for element in elements:
            key = UDI_AIS.get(element.get("ai"))
            if not key:
                continue
            if udi[key] is not None:
                identifier = "(" + element["ai"] + ")"
                raise UserError(
                    self.env._(
                        "The code %(code)s carries its %(ai)s twice: scan it again.",
                        code=self._meso_printable(code),
                        ai=identifier,
                    )
                )
            udi[key] = element["value"] or None
        if udi["gtin"] is None and code.isdigit() and is_gtin(code):
            udi["gtin"] = gtin14(code)
        if udi["gtin"] is None:
            raise UserError(
                self.env._(
                    "The code %(code)s is not a product's GS1 code: it carries no GTIN "
                    "(01). Scan the vial's DataMatrix or its GTIN barcode.",
                    code=self._meso_printable(code),
                )
            )
        udi["gtin"] = gtin14(udi["gtin"])
        return udi

    @api.model
    def _meso_printable(self, code):
        """The scanned code as a person reads it, the FNC1 shown as Odoo's '#'."""
        return code.replace(FNC1_CHAR, "#")
