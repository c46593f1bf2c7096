import base64
import datetime
import io
import math
from collections import defaultdict

from odoo import fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare, float_is_zero, float_round

from ..report.meso_audit_xlsx import META_SHEET, SIGNATURE

MAX_LISTED_ERRORS = 20  # an import stops reading at this many wrong rows
MAX_ADDED_ROWS = 1000  # rows a counter may add to the count sheet (vials found on the shelf)
MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_COUNT = 1e6  # vials of one lot in one location
# the count sheet's columns the import reads, by the keys the export lists in its meta sheet
COUNT_KEYS = (
    "location",
    "product",
    "lot",
    "expiration",
    "counted",
    "location_id",
    "product_id",
    "lot_id",
)
HIDDEN_KEYS = ("location_id", "product_id", "lot_id")


class MesoAuditCountImport(models.TransientModel):
    """Applies the counts of a filled-in count sheet (of a `meso.audit.export` workbook)
    as one inventory adjustment, or nothing at all.

    Columns are found by the keys the workbook's meta sheet lists, exported rows by their
    hidden ids: neither the headers nor the sheet's name are read, so a workbook exported
    in another language imports the same."""

    _name = "meso.audit.count.import"
    _inherit = ["meso.audit.clinic.mixin"]
    _description = "Apply stock audit counts"
    _transient_max_hours = 0.25  # the file may name patients' vials and counts; not kept

    import_file = fields.Binary("Filled-in count sheet", attachment=False, required=True)
    import_file_name = fields.Char()
    import_reason = fields.Char(
        "Reason", required=True, default=lambda self: self.env._("Stock audit count")
    )

    def _meso_other_company_refusal(self):
        return self.env._("You can only count the stock of a company you work for.")

    def action_import_counts(self):
        """Apply the counted quantities as one inventory adjustment, or nothing at all,
        and open the adjustment's moves.

        Each count is what was on the shelf when the sheet was exported: what moved in
        or out of that location, product and lot since then is added to it, so that a
        sheet counted before two sessions and imported after them does not put the
        injected vials back."""
        self.ensure_one()
        self._check_company_of_user()
        if not self.import_file:
            raise UserError(self.env._("Choose the filled-in count sheet to import."))
        content = base64.b64decode(self.import_file)
        if len(content) > MAX_IMPORT_BYTES:
            raise UserError(
                self.env._(
                    "This file is larger than a count sheet can be (%(size)s MB at most): "
                    "import the count sheet exported by this wizard.",
                    size=MAX_IMPORT_BYTES // (1024 * 1024),
                )
            )
        counts, exported_at = self._meso_read_counts(content)
        if not counts:
            raise UserError(self.env._("No counted quantity was filled in: nothing to apply."))
        moved = self._meso_moved_since(counts, exported_at)
        Quant = self.env["stock.quant"].with_context(inventory_mode=True)
        quants = Quant.browse()
        for key, counted in counts.items():
            quants |= Quant.create(self._prepare_quant_values(key, counted + moved.get(key, 0.0)))
        changed = quants.filtered(
            lambda q: (
                not float_is_zero(
                    q.inventory_diff_quantity, precision_rounding=q.product_uom_id.rounding
                )
            )
        )
        (quants - changed).action_clear_inventory_quantity()
        moves = self.env["stock.move"]
        if changed:
            # Odoo's _apply_inventory does not return the moves it makes: they are the
            # inventory moves of these products that this transaction created, hence
            # above the highest id it could see before (its snapshot holds no later one)
            last = self.env["stock.move"].search([], order="id desc", limit=1).id or 0
            changed.with_context(
                inventory_name=self.import_reason or self.env._("Stock audit count")
            )._apply_inventory()
            moves = self.env["stock.move"].search(
                [
                    ("id", ">", last),
                    ("is_inventory", "=", True),
                    ("product_id", "in", changed.product_id.ids),
                ]
            )
        since = [key for key, quantity in moved.items() if quantity]
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Counts applied"),
                "message": self.env._(
                    "%(count)s line(s) counted, %(changed)s adjusted; %(moved)s line(s) "
                    "also moved since the export, and were counted as of the export.",
                    count=len(quants),
                    changed=len(changed),
                    moved=len(since),
                ),
                "type": "success",
                "sticky": False,
                "next": self._meso_moves_action(moves),
            },
        }

    def _prepare_quant_values(self, key, quantity):
        location, product, lot = key
        return {
            "product_id": product.id,
            "location_id": location.id,
            "lot_id": lot.id,
            "inventory_quantity": max(quantity, 0.0),
        }

    def _meso_moves_action(self, moves):
        """The adjustment's moves, opened once the notification is shown."""
        if not moves:
            return {"type": "ir.actions.act_window_close"}
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Stock audit adjustment: %(reason)s", reason=self.import_reason),
            "res_model": "stock.move",
            "view_mode": "list,form",
            "views": [(False, "list"), (False, "form")],
            "domain": [("id", "in", moves.ids)],
            "context": {"create": False},
            "target": "current",
        }

    def _meso_moved_since(self, counts, exported_at):
        """{(location, product, lot): vials in less vials out} since the export."""
        moved = defaultdict(float)
        keys = set(counts)
        locations = self.env["stock.location"].union(*(key[0] for key in keys))
        products = self.env["product.product"].union(*(key[1] for key in keys))
        MoveLine = self.env["stock.move.line"]
        for side, sign in (("location_dest_id", 1), ("location_id", -1)):
            for location, product, lot, quantity in MoveLine._read_group(
                [
                    ("state", "=", "done"),
                    ("date", ">", exported_at),
                    ("product_id", "in", products.ids),
                    (side, "in", locations.ids),
                ],
                [side, "product_id", "lot_id"],
                ["quantity_product_uom:sum"],
            ):
                if (location, product, lot) in keys:
                    moved[location, product, lot] += sign * quantity
        return moved

    # ------------------------------------------------------------------
    # Reading the file
    # ------------------------------------------------------------------
    def _meso_read_counts(self, content):
        """({(location, product, lot): counted}, export time) from the file, or a
        UserError listing every row that is not right."""
        from openpyxl import load_workbook  # noqa: PLC0415  only needed here

        not_ours = self.env._(
            "This file is not a stock audit export of this database: export a new one."
        )
        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as error:
            raise UserError(not_ours) from error
        if META_SHEET not in book.sheetnames:
            raise UserError(not_ours)
        meta = {
            row[0]: row[1] for row in book[META_SHEET].iter_rows(values_only=True) if row and row[0]
        }
        keys = str(meta.get("count_columns") or "").split(",")
        if (
            meta.get("signature") != SIGNATURE
            or meta.get("database") != self.env["meso.audit.export"]._meso_database_token()
            or not str(meta.get("count_rows", "")).isdigit()
            or not meta.get("exported_at")
            or not set(COUNT_KEYS) <= set(keys)
        ):
            raise UserError(not_ours)
        if str(meta.get("warehouse_id")) != str(self.warehouse_id.id):
            raise UserError(
                self.env._(
                    "This count sheet was exported for another clinic than %(clinic)s: "
                    "choose its clinic, or export a count sheet of %(clinic)s.",
                    clinic=self.warehouse_id.name,
                )
            )
        index = {key: keys.index(key) for key in COUNT_KEYS}
        rows = self._meso_count_sheet_rows(book, meta.get("count_sheet"), index)
        limit = int(meta["count_rows"]) + MAX_ADDED_ROWS
        lang = (
            meta.get("lang")
            if meta.get("lang") in dict(self.env["res.lang"].get_installed())
            else None
        )
        counts, errors = self._meso_parse_count_rows(rows, index, limit, lang)
        if errors:
            listed = [message for _row, message in sorted(errors)]
            if len(errors) >= MAX_LISTED_ERRORS:
                listed.append(self.env._("… reading stopped there."))
            raise UserError(
                self.env._(
                    "Nothing was applied. Correct these rows and import again:\n%(errors)s",
                    errors="\n".join(listed),
                )
            )
        return counts, fields.Datetime.to_datetime(meta["exported_at"])

    def _meso_count_sheet_rows(self, book, name, index):
        """The rows under the count sheet's header. The sheet is the one the meta sheet
        names, or, renamed, the one whose header row holds the hidden columns' keys: the
        hidden columns' headers are their keys, not translated. Where they are not where
        the export put them, a column was inserted or removed and none of the others can
        be trusted either."""
        candidates = [name] if name in book.sheetnames else book.sheetnames
        for sheet in candidates:
            rows = book[sheet].iter_rows(values_only=True)
            first = next(rows, None) or ()
            if all(index[key] < len(first) and first[index[key]] == key for key in HIDDEN_KEYS):
                return rows
        raise UserError(
            self.env._(
                "Columns of the count sheet were added, removed or moved: type the counts "
                "in the sheet as it was exported."
            )
        )

    def _meso_parse_count_rows(self, rows, index, limit, lang=None):
        """{(location, product, lot): counted} and [(row, error)] of the filled-in rows,
        reading no further than `limit` data rows and MAX_LISTED_ERRORS wrong ones.
        `index`: the position of each column by its key; `lang`: the language the
        workbook shows the names in. A row without a count (the totals row among them)
        is not read."""
        width = max(index.values()) + 1
        counts, seen, errors = {}, {}, []
        for number, values in enumerate(rows, start=2):
            if len(errors) >= MAX_LISTED_ERRORS:
                break
            if number - 1 > limit:
                errors.append(
                    (
                        number,
                        self.env._(
                            "Row %(row)s: the sheet has more rows than its export and "
                            "%(added)s added ones.",
                            row=number,
                            added=MAX_ADDED_ROWS,
                        ),
                    )
                )
                break
            row = list(values or ()) + [None] * (width - len(values or ()))
            raw = row[index["counted"]]
            if raw in (None, ""):
                continue
            counted = self._meso_count_value(raw)
            if counted is None:
                errors.append(
                    (
                        number,
                        self.env._(
                            "Row %(row)s: the count “%(value)s” is not a number of vials.",
                            row=number,
                            value=str(raw)[:40],
                        ),
                    )
                )
                continue
            key, error = self._meso_resolve_count_row(number, row, index, lang)
            if not error and key in seen:
                error = self.env._(
                    "Row %(row)s counts the same location, vial and lot as row %(first)s.",
                    row=number,
                    first=seen[key],
                )
            if not error:
                error = self._meso_check_count_unit(number, counted, key[1].uom_id)
            if error:
                errors.append((number, error))
                continue
            seen[key] = number
            counts[key] = counted
        return counts, errors

    def _meso_check_count_unit(self, number, counted, uom):
        """Vials counted in units are whole; other units to their rounding."""
        units = uom.category_id == self.env.ref("uom.product_uom_categ_unit")
        rounding = 1.0 if units else uom.rounding
        if float_compare(counted, float_round(counted, precision_rounding=rounding), 6):
            return self.env._(
                "Row %(row)s: %(value)s is not a whole number of %(unit)s.",
                row=number,
                value=format(counted, "g"),
                unit=uom.name,
            )
        return None

    @staticmethod
    def _meso_count_value(raw):
        try:
            value = float(raw.replace(",", ".")) if isinstance(raw, str) else float(raw)
        except (TypeError, ValueError, OverflowError):
            return None
        return value if math.isfinite(value) and 0 <= value <= MAX_COUNT else None

    def _meso_resolve_count_row(self, number, row, index, lang=None):
        """((location, product, lot), None) or (None, what is wrong with the row). A row of
        the export must still say what its hidden ids say; a row added by the counter is
        found by what it says (an existing lot, or a new one when its expiry is given)."""
        text = {key: str(row[index[key]] or "").strip() for key in ("location", "product", "lot")}
        ids = [row[index[key]] for key in HIDDEN_KEYS]
        if any(ids):
            return self._meso_resolve_exported_row(number, text, ids, lang)
        return self._meso_resolve_added_row(number, text, row[index["expiration"]], lang)

    def _meso_shown_name(self, record, lang):
        """The name the workbook shows for the record: in the language it was exported in."""
        return record.with_context(lang=lang).display_name if lang else record.display_name

    def _meso_resolve_exported_row(self, number, text, ids, lang):
        location_id, product_id, lot_id = (int(i) if isinstance(i, int | float) else 0 for i in ids)
        location = self.env["stock.location"].browse(location_id).exists()
        product = self.env["product.product"].browse(product_id).exists()
        lot = self.env["stock.lot"].browse(lot_id).exists()
        if not location or not product or (lot_id and (not lot or lot.product_id != product)):
            return None, self.env._(
                "Row %(row)s: the hidden columns were changed; export a new count sheet.",
                row=number,
            )
        shown = [
            (self.env._("location"), text["location"], self._meso_shown_name(location, lang)),
            (self.env._("vial"), text["product"], self._meso_shown_name(product, lang)),
            (self.env._("lot"), text["lot"], lot.name or ""),
        ]
        for what, typed, actual in shown:
            if typed != actual:
                return None, self.env._(
                    "Row %(row)s: the %(what)s “%(typed)s” is not this row's %(what)s "
                    "(%(actual)s). Put it back, and count another %(what)s on a new row.",
                    row=number,
                    what=what,
                    typed=typed,
                    actual=actual,
                )
        return self._meso_check_count_records(number, location, product, lot)

    def _meso_resolve_added_row(self, number, text, expiration, lang):
        clinic = self.warehouse_id.view_location_id
        location = self.env["stock.location"].search(
            [
                ("complete_name", "=", text["location"]),
                ("usage", "=", "internal"),
                ("id", "child_of", clinic.id),
            ],
            limit=1,
        )
        if not location:
            return None, self.env._(
                "Row %(row)s: “%(location)s” is not a stock location of %(clinic)s.",
                row=number,
                location=text["location"],
                clinic=self.warehouse_id.name,
            )
        products = (
            self.env["product.product"]
            .with_context(lang=lang or self.env.lang)
            .search(
                [
                    ("name", "ilike", text["product"].rsplit("] ", 1)[-1]),
                    ("company_id", "in", [False, self.company_id.id]),
                ]
            )
            .filtered(lambda p: p.display_name == text["product"])
            .with_env(self.env)
        )
        if len(products) != 1:
            return None, self.env._(
                "Row %(row)s: no single product is named “%(product)s”: copy its name from "
                "another row.",
                row=number,
                product=text["product"],
            )
        lot = self.env["stock.lot"]
        if text["lot"]:
            lot = lot.search(
                [
                    ("name", "=", text["lot"]),
                    ("product_id", "=", products.id),
                    ("company_id", "in", [False, self.company_id.id]),
                ],
                limit=1,
            )
            if not lot:
                expiry = self._meso_count_expiry(expiration)
                if not expiry:
                    return None, self.env._(
                        "Row %(row)s: lot %(lot)s of %(product)s does not exist: give its "
                        "expiration date to create it.",
                        row=number,
                        lot=text["lot"],
                        product=text["product"],
                    )
                lot = lot.create(
                    {
                        "name": text["lot"],
                        "product_id": products.id,
                        "company_id": self.company_id.id,
                        "expiration_date": expiry,
                    }
                )
        return self._meso_check_count_records(number, location, products, lot)

    @staticmethod
    def _meso_count_expiry(value):
        if isinstance(value, datetime.datetime):
            return value
        if isinstance(value, datetime.date):
            return datetime.datetime.combine(value, datetime.time())
        try:
            return fields.Datetime.to_datetime(str(value).strip()) if value else None
        except ValueError:
            return None

    def _meso_check_count_records(self, number, location, product, lot):
        clinic = self.warehouse_id.view_location_id
        if location.usage != "internal" or not location._child_of(clinic):
            error = self.env._(
                "Row %(row)s: %(location)s is not a stock location of %(clinic)s.",
                row=number,
                location=location.display_name,
                clinic=self.warehouse_id.name,
            )
        elif not product.meso_is_vial:
            error = self.env._(
                "Row %(row)s: %(product)s is not a mesotherapy vial: the count sheet counts "
                "vials only.",
                row=number,
                product=product.display_name,
            )
        elif product.tracking == "lot" and not lot:
            error = self.env._(
                "Row %(row)s: %(product)s is counted by lot: give the lot.",
                row=number,
                product=product.display_name,
            )
        else:
            return (location, product, lot), None
        return None, error
