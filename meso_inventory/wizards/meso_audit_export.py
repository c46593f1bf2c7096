import base64
import datetime
import io
import math
import tempfile
from collections import defaultdict
from datetime import timedelta

import pytz

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, float_compare, float_is_zero, float_round, hmac, split_every

from ..report.meso_audit_xlsx import (
    COUNT_SHEET,
    META_SHEET,
    SIGNATURE,
    AuditWorkbook,
    Column,
    SheetFull,
)

MAX_LISTED_ERRORS = 20  # an import stops reading at this many wrong rows
MAX_ADDED_ROWS = 1000  # rows a counter may add to the count sheet (vials found on the shelf)
MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_COUNT = 1e6  # vials of one lot in one location
CHUNK = 20000  # consumption lines read at a time
RECALL_LOTS = 5000  # lots of the recall sheet read at a time

SUMMARY = [
    Column("product", "Product", "text", 42),
    Column("code", "Reference", "text", 14),
    Column("qty", "On hand (vials)", "qty", 12, True),
    Column("ml", "On hand (ml)", "qty", 12, True),
    Column("value", "Value", "money", 14, True),
    Column("lots", "Lots", "int", 8, True),
    Column("nearest_expiry", "Nearest expiry", "date", 14),
    Column("consumed_vials", "Vials used in period", "qty", 12, True),
    Column("consumed_ml", "ml injected in period", "qty", 12, True),
    Column("days_of_cover", "Days of cover", "qty", 10),
    Column("below_min", "Usable below minimum", "text", 10),
]
STOCK = [
    Column("product", "Product", "text", 42),
    Column("profile", "Ingredients", "text", 40),
    Column("lot", "Lot", "text", 16),
    Column("expiration", "Expiration date", "date", 14),
    Column("days", "Days to expiry", "days", 10),
    Column("location", "Location", "text", 22),
    Column("qty", "Quantity (vials)", "qty", 12, True),
    Column("unit_cost", "Unit cost", "money", 12),
    Column("value", "Value", "formula", 14, True, formula="={col_qty}{row}*{col_unit_cost}{row}"),
]
CONSUMPTION = [
    Column("date", "Date", "datetime", 17),
    Column("session", "Session", "text", 16),
    Column("patient", "Patient", "text", 24),
    Column("practitioner", "Practitioner", "text", 20),
    Column("product", "Product", "text", 40),
    Column("lot", "Lot", "text", 16),
    Column("ml", "ml", "qty", 9, True),
    Column("vials", "Vials", "qty", 9, True),
    Column("waste", "Waste (ml)", "qty", 10, True),
    Column("cost", "Cost", "money", 12, True),
]
REORDER = [
    Column("product", "Product", "text", 42),
    Column("warehouse", "Clinic", "text", 16),
    Column("on_hand", "On hand", "qty", 10),
    Column("usable", "Usable", "qty", 10),
    Column("forecast", "Forecast (incl. open RFQs)", "qty", 10),
    Column("min", "Min", "qty", 8),
    Column("max", "Max", "qty", 8),
    Column("daily", "Daily use", "qty", 10),
    Column("cover", "Days of cover", "qty", 10),
    Column("rfq_qty", "On open RFQs", "qty", 10),
    Column("rfq_refs", "RFQs", "text", 20),
]
COUNT = [
    Column("location", "Location", "text", 22),
    Column("product", "Product", "text", 42),
    Column("lot", "Lot", "text", 16),
    Column("expiration", "Expiration date", "date", 14),
    Column("expected", "Expected", "qty", 10, True),
    Column("counted", "Counted", "qty", 10),
    Column(
        "variance",
        "Variance",
        "formula",
        10,
        formula='=IF({col_counted}{row}="","",{col_counted}{row}-{col_expected}{row})',
    ),
    Column("location_id", "location_id", "int", 4, hidden=True),
    Column("product_id", "product_id", "int", 4, hidden=True),
    Column("lot_id", "lot_id", "int", 4, hidden=True),
]
RECALL = [  # one row per lot and patient: whom to contact about a lot
    Column("lot", "Lot", "text", 16),
    Column("product", "Product", "text", 40),
    Column("expiration", "Expiration date", "date", 14),
    Column("patient", "Patient", "text", 24),
    Column("sessions", "Sessions", "int", 9, True),
    Column("references", "Session references", "text", 30),
    Column("first", "First session", "datetime", 17),
    Column("last", "Last session", "datetime", 17),
    Column("practitioners", "Practitioners", "text", 24),
    Column("ml", "ml received", "qty", 10, True),
]


def _aligned(columns, rows):
    """Rows read as dicts, handed to the writer in column order."""
    keys = [column.key for column in columns]
    return ([row.get(key) for key in keys] for row in rows)


class MesoAuditExport(models.TransientModel):
    _name = "meso.audit.export"
    _inherit = ["meso.number.check.mixin"]
    _description = "Stock audit export"
    _meso_number_bounds = {"horizon_days": (0, 3650)}
    _check_company_auto = True
    # the workbook names patients: it is downloaded at once, and does not linger
    _transient_max_hours = 0.25

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    warehouse_id = fields.Many2one(
        "stock.warehouse",
        "Clinic",
        required=True,
        check_company=True,
        default=lambda self: self.env["stock.warehouse"].search(
            [("company_id", "=", self.env.company.id)], limit=1
        ),
    )
    as_of = fields.Datetime("Stock as of", required=True, default=fields.Datetime.now)
    horizon_days = fields.Integer("Expiring within (days)", required=True, default=90)
    period_start = fields.Datetime(
        "Consumption from",
        required=True,
        default=lambda self: fields.Datetime.now() - timedelta(days=90),
    )
    period_end = fields.Datetime("Consumption to", required=True, default=fields.Datetime.now)
    pseudonymise = fields.Boolean(
        "Pseudonymise patients",
        help="Replace patient names by a stable code, for auditors outside the clinic.",
    )
    file_data = fields.Binary("Workbook", readonly=True)
    file_name = fields.Char(readonly=True)
    import_file = fields.Binary("Filled-in count sheet", attachment=False)
    import_file_name = fields.Char()
    import_reason = fields.Char("Reason", default=lambda self: self.env._("Stock audit count"))

    # ------------------------------------------------------------------
    # Export
    # ------------------------------------------------------------------
    def action_export(self):
        self.ensure_one()
        self._check_options()
        data = self._meso_collect()
        with tempfile.TemporaryFile() as fileobj:
            book = AuditWorkbook(fileobj, horizon_days=self.horizon_days)
            try:
                book.sheet("Summary", SUMMARY, data["summary"])
                book.sheet("Stock by lot", STOCK, data["stock"], expiry_key="days")
                book.sheet("Expiring", STOCK, data["expiring"], expiry_key="days")
                book.sheet("Consumption", CONSUMPTION, data["consumption"])
                book.sheet("Reorder status", REORDER, data["reorder"])
                book.sheet(COUNT_SHEET, COUNT, data["count"])
                book.sheet("Recall", RECALL, data["recall"])
            except SheetFull as full:
                sheet, rows = full.args
                raise UserError(
                    self.env._(
                        "The sheet %(sheet)s would have more than %(rows)s rows, the most a "
                        "spreadsheet holds. Export a shorter consumption period.",
                        sheet=sheet,
                        rows=format(rows, ","),
                    )
                ) from None
            book.meta(
                {
                    "company_id": self.company_id.id,
                    "warehouse_id": self.warehouse_id.id,
                    # names no database: a token an import of this database recognises
                    "database": self._meso_database_token(),
                    "count_rows": data["count_rows"],
                    "exported_at": fields.Datetime.to_string(fields.Datetime.now()),
                }
            )
            book.close()
            # the rows and the records read for them are not needed for the file itself
            del data
            self.env.invalidate_all()
            fileobj.seek(0)
            content = base64.b64encode(fileobj.read())
        stamp = fields.Datetime.to_string(self.as_of)[:10]
        self.write(
            {
                "file_data": content,
                "file_name": f"stock-audit-{self.warehouse_id.code}-{stamp}.xlsx",
            }
        )
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self._name}/{self.id}/file_data/{self.file_name}?download=true",
            "target": "self",
        }

    @api.constrains("company_id")
    def _check_company_of_user(self):
        for export in self:
            if export.company_id not in self.env.user.company_ids:
                raise AccessError(
                    self.env._("You can only export the stock of a company you work for.")
                )

    def _meso_database_token(self):
        return hmac(self.env(su=True), "meso_inventory.audit-database", self.env.cr.dbname)[:16]

    def _check_options(self):
        self._check_company_of_user()
        if self.horizon_days < 0:
            raise UserError(self.env._("The expiry horizon must be zero or more days."))
        if self.period_start > self.period_end:
            raise UserError(self.env._("The consumption period ends before it starts."))

    def _meso_collect(self):
        """Every sheet's rows, in column order. The small sheets are lists; the consumption
        and recall sheets are generators that read the ledger a chunk at a time while the
        workbook is written, so that memory does not grow with the number of lines."""
        self.env.flush_all()  # the consumption and recall sheets are read with SQL
        stock = self._meso_stock_rows()
        reorder = self._meso_reorder_figures()
        count = self._meso_count_rows()
        horizon = fields.Date.to_date(self.as_of) + timedelta(days=self.horizon_days)
        expiring = sorted(
            (row for row in stock if row["expiration"] and row["expiration"] <= horizon),
            key=lambda row: (row["expiration"], row["product"], row["lot"]),
        )
        return {
            "summary": _aligned(SUMMARY, self._meso_summary_rows(stock, reorder)),
            "stock": _aligned(STOCK, stock),
            "expiring": _aligned(STOCK, expiring),
            "consumption": self._meso_consumption_rows(),
            "reorder": _aligned(REORDER, reorder),
            "count": _aligned(COUNT, count),
            "count_rows": len(count),
            "recall": self._meso_recall_rows(),
        }

    def _meso_locations_domain(self, field="location_id"):
        return [
            (field, "child_of", self.warehouse_id.view_location_id.id),
            (f"{field}.usage", "=", "internal"),
        ]

    def _meso_stock_rows(self):
        """Quantities by product, lot and location as of the chosen date: today's quants,
        less what came in since, plus what went out since."""
        quantities = defaultdict(float)
        vial = [("product_id.meso_is_vial", "=", True)]
        for product, lot, location, qty in self.env["stock.quant"]._read_group(
            vial + self._meso_locations_domain(),
            ["product_id", "lot_id", "location_id"],
            ["quantity:sum"],
        ):
            quantities[product, lot, location] += qty
        since = vial + [("state", "=", "done"), ("date", ">", self.as_of)]
        MoveLine = self.env["stock.move.line"]
        for product, lot, location, qty in MoveLine._read_group(
            since + self._meso_locations_domain("location_dest_id"),
            ["product_id", "lot_id", "location_dest_id"],
            ["quantity_product_uom:sum"],
        ):
            quantities[product, lot, location] -= qty
        for product, lot, location, qty in MoveLine._read_group(
            since + self._meso_locations_domain("location_id"),
            ["product_id", "lot_id", "location_id"],
            ["quantity_product_uom:sum"],
        ):
            quantities[product, lot, location] += qty
        products = self.env["product.product"].concat(*{key[0] for key in quantities})
        # only the lot fields the sheets show, not every column of 20,000 lots
        self.env["stock.lot"].concat(*{key[1] for key in quantities}).fetch(
            ["name", "expiration_date"]
        )
        unit_costs = self._meso_unit_costs(products)
        profiles = {product: self._meso_profile(product) for product in products}
        today = fields.Date.to_date(self.as_of)
        rows = []
        for (product, lot, location), qty in quantities.items():
            if abs(qty) < 1e-9:
                continue
            expiration = fields.Date.to_date(lot.expiration_date) if lot.expiration_date else None
            cost = unit_costs.get(product.id, 0.0)
            rows.append(
                {
                    "product": product.display_name,
                    "product_id": product.id,
                    "volume": product.meso_volume_ml,
                    "profile": profiles[product],
                    "lot": lot.name or "",
                    "lot_id": lot.id,
                    "expiration": expiration,
                    "days": (expiration - today).days if expiration else None,
                    "location": location.display_name,
                    "qty": qty,
                    "unit_cost": cost,
                    "value": qty * cost,
                }
            )
        rows.sort(
            key=lambda row: (
                row["product"],
                row["expiration"] or today.max,
                row["lot"],
                row["location"],
            )
        )
        return rows

    def _meso_profile(self, product):
        units = dict(self.env["meso.composition.line"]._fields["concentration_unit"].selection)
        return ", ".join(
            f"{line.ingredient_id.name} {line.concentration:g} {units[line.concentration_unit]}"
            for line in product.meso_composition_ids
        )

    def _meso_unit_costs(self, products):
        """Average unit cost of each product at the date, from Odoo's valuation layers.

        Valuation layers are the Inventory administrators' to read; the export is the
        clinic managers' (its access rights), and this read is bound to the export's
        company, one of the user's (_check_options), hence sudo()."""
        costs = {}
        for product, value, qty in (
            self.env["stock.valuation.layer"]
            .sudo()
            ._read_group(
                [
                    ("product_id", "in", products.ids),
                    ("company_id", "=", self.company_id.id),
                    ("create_date", "<=", self.as_of),
                ],
                ["product_id"],
                ["value:sum", "quantity:sum"],
            )
        ):
            if qty:
                costs[product.id] = value / qty
        for product in products:
            costs.setdefault(product.id, product.with_company(self.company_id).standard_price)
        return costs

    def _meso_patient_label(self, patient):
        if not self.pseudonymise:
            return patient.name
        return self._meso_pseudonym("PT", "meso_inventory.audit-patient", patient.id)

    def _meso_session_label(self, session_id, name):
        """A session's reference leads to its patient (through its pickings, its chatter):
        a pseudonymised workbook gives a stable code instead."""
        if not self.pseudonymise:
            return name
        return self._meso_pseudonym("SE", "meso_inventory.audit-session", session_id)

    def _meso_pseudonym(self, prefix, scope, record_id):
        digest = hmac(self.env(su=True), scope, record_id)
        return f"{prefix}-{digest[:10].upper()}"

    def _meso_consumption_domain(self):
        return [
            ("session_state", "=", "done"),
            ("company_id", "=", self.company_id.id),
            ("session_id.warehouse_id", "=", self.warehouse_id.id),
            ("date", ">=", self.period_start),
            ("date", "<=", self.period_end),
        ]

    def _meso_names(self):
        """Name lookups for ids met while streaming: each record read once, when first met."""
        caches = defaultdict(dict)

        def names(model, ids, label=lambda record: record.display_name):
            cache = caches[model]
            missing = {i for i in ids if i} - cache.keys()
            if missing:
                records = self.env[model].browse(missing)
                cache.update({record.id: label(record) for record in records})
            return cache

        return names

    def _meso_local_time(self):
        """SQL converting a stored UTC datetime column to the user's time zone."""
        timezone = self.env.user.tz if self.env.user.tz in pytz.all_timezones_set else "UTC"
        return lambda column: SQL("(%s AT TIME ZONE 'UTC') AT TIME ZONE %s", column, timezone)

    def _meso_consumption_rows(self):
        """The consumption lines in date order, read CHUNK at a time with one query each
        and not kept: memory stays flat whatever the number of lines."""
        Consumption = self.env["meso.treatment.consumption"]
        Consumption.check_field_access_rights("read", ["cost", "volume_ml", "patient_id"])
        ids = Consumption.search(self._meso_consumption_domain(), order="date, session_id, id").ids
        names = self._meso_names()
        local = self._meso_local_time()
        for chunk in split_every(CHUNK, ids):
            lines = {
                row[0]: row[1:]
                for row in self.env.execute_query(
                    SQL(
                        """SELECT c.id, %s, s.id, s.name, c.patient_id, c.practitioner_id,
                                  c.product_id, l.name, c.volume_ml, c.vial_qty, c.waste_ml,
                                  c.cost
                             FROM meso_treatment_consumption c
                             JOIN meso_treatment_session s ON s.id = c.session_id
                             JOIN stock_lot l ON l.id = c.lot_id
                            WHERE c.id = ANY(%s)""",
                        local(SQL("c.date")),
                        list(chunk),
                    )
                )
            }
            patients = names(
                "meso.patient", {r[3] for r in lines.values()}, self._meso_patient_label
            )
            users = names("res.users", {r[4] for r in lines.values()}, lambda user: user.name)
            products = names("product.product", {r[5] for r in lines.values()})
            for line_id in chunk:
                (date, session_id, session, patient, user, product, lot, ml, vials, waste, cost) = (
                    lines[line_id]
                )
                yield (
                    date,
                    self._meso_session_label(session_id, session),
                    patients.get(patient, ""),
                    users.get(user, ""),
                    products[product],
                    lot,
                    ml,
                    vials,
                    waste,
                    cost,
                )

    def _meso_recall_rows(self):
        """One row per lot consumed in the period and patient who received it, lots in
        name order, read RECALL_LOTS lots at a time and grouped by PostgreSQL."""
        Consumption = self.env["meso.treatment.consumption"]
        domain = self._meso_consumption_domain()
        lot_ids = [
            row[0]
            for row in self.env.execute_query(
                SQL(
                    """SELECT l.id FROM stock_lot l
                        WHERE l.id IN (SELECT lot_id FROM meso_treatment_consumption
                                        WHERE id IN %s)
                     ORDER BY l.name, l.id""",
                    Consumption._search(domain).subselect(),
                )
            )
        ]
        names = self._meso_names()
        local = self._meso_local_time()
        for chunk in split_every(RECALL_LOTS, lot_ids):
            groups = self.env.execute_query(
                SQL(
                    """SELECT c.lot_id, c.patient_id, count(DISTINCT c.session_id),
                              array_agg(DISTINCT ARRAY[s.id::text, s.name]),
                              %s, %s, array_agg(DISTINCT c.practitioner_id), sum(c.volume_ml)
                         FROM meso_treatment_consumption c
                         JOIN meso_treatment_session s ON s.id = c.session_id
                        WHERE c.id IN %s
                     GROUP BY c.lot_id, c.patient_id""",
                    local(SQL("min(c.date)")),
                    local(SQL("max(c.date)")),
                    Consumption._search(domain + [("lot_id", "in", chunk)]).subselect(),
                )
            )
            lots = names(
                "stock.lot",
                chunk,
                lambda lot: (
                    lot.name,
                    lot.product_id.id,
                    fields.Date.to_date(lot.expiration_date) if lot.expiration_date else None,
                ),
            )
            patients = names("meso.patient", {g[1] for g in groups}, self._meso_patient_label)
            users = names(
                "res.users", {u for g in groups for u in g[6] if u}, lambda user: user.name
            )
            products = names("product.product", {lots[g[0]][1] for g in groups})
            position = {lot_id: index for index, lot_id in enumerate(chunk)}
            groups.sort(key=lambda g: (position[g[0]], g[4], patients.get(g[1], "")))
            for lot_id, patient, count, sessions, first, last, user_ids, ml in groups:
                lot, product, expiration = lots[lot_id]
                references = ", ".join(
                    sorted(self._meso_session_label(int(sid), name) for sid, name in sessions)
                )
                yield (
                    lot,
                    products[product],
                    expiration,
                    patients.get(patient, ""),
                    count,
                    references,
                    first,
                    last,
                    ", ".join(sorted(users[u] for u in user_ids if u)),
                    ml,
                )
            self.env["stock.lot"].invalidate_model()  # their names are kept, not the records

    def _meso_reorder_figures(self):
        """One dict per vial reordering rule of the clinic, from grouped reads: Odoo's
        on hand and forecast at the rule's location (the grouped reads behind the
        product's `qty_available` and `virtual_available`, all rules of a location at
        once), less what will expire unused, and the open RFQs."""
        orderpoints = self.env["stock.warehouse.orderpoint"].search(
            [("warehouse_id", "=", self.warehouse_id.id), ("product_id.meso_is_vial", "=", True)]
        )
        quantities = {}
        for location in orderpoints.location_id:
            products = orderpoints.filtered(lambda op, loc=location: op.location_id == loc)
            located = products.product_id.with_context(location=location.id)
            for product_id, values in located._compute_quantities_dict(None, None, None).items():
                quantities[location.id, product_id] = values
        unusable = orderpoints._meso_unusable_quantities()
        rfqs = orderpoints._meso_open_rfqs()
        rows = []
        for op in orderpoints:
            values = quantities[op.location_id.id, op.product_id.id]
            lost = unusable.get(op.id, 0.0)
            usable = values["qty_available"] - lost
            daily = op.meso_avg_daily_use
            rfq_qty, orders = rfqs.get(op.id, (0.0, self.env["purchase.order"]))
            rows.append(
                {
                    "product": op.product_id.display_name,
                    "product_id": op.product_id.id,
                    "warehouse": op.warehouse_id.name,
                    "on_hand": values["qty_available"],
                    "usable": usable,
                    # as the Replenishment screen: Odoo's forecast with the open RFQs
                    "forecast": values["virtual_available"] + rfq_qty - lost,
                    "min": op.product_min_qty,
                    "max": op.product_max_qty,
                    "daily": daily,
                    "cover": usable / daily if daily > 0 else 0.0,
                    "rfq_qty": rfq_qty,
                    "rfq_refs": ", ".join(sorted(orders.mapped("name"))),
                }
            )
        return sorted(rows, key=lambda row: row["product"])

    def _meso_summary_rows(self, stock, reorder):
        def entry_of(product_id, name):
            return summary.setdefault(
                product_id,
                {
                    "product": name,
                    "qty": 0.0,
                    "ml": 0.0,
                    "value": 0.0,
                    "lots": set(),
                    "nearest_expiry": None,
                    "consumed_vials": 0.0,
                    "consumed_ml": 0.0,
                },
            )

        summary = {}
        for row in stock:
            entry = entry_of(row["product_id"], row["product"])
            entry["qty"] += row["qty"]
            entry["ml"] += row["qty"] * row["volume"]
            entry["value"] += row["value"]
            if row["qty"] > 0 and row["lot_id"]:
                entry["lots"].add(row["lot_id"])
            if row["expiration"] and row["qty"] > 0:
                nearest = entry["nearest_expiry"]
                entry["nearest_expiry"] = (
                    min(nearest, row["expiration"]) if nearest else row["expiration"]
                )
        for product, vials, ml in self.env["meso.treatment.consumption"]._read_group(
            self._meso_consumption_domain(), ["product_id"], ["vial_qty:sum", "volume_ml:sum"]
        ):
            entry = entry_of(product.id, product.display_name)
            entry["consumed_vials"] += vials
            entry["consumed_ml"] += ml
        rules = {row["product_id"]: row for row in reorder}
        products = self.env["product.product"].browse(list(summary))
        rows = []
        for product in products:
            entry = summary[product.id]
            rule = rules.get(product.id)
            below = ""
            if rule:
                # orderpoint._meso_below_min(): usable stock below the minimum
                below = self.env._("yes") if rule["usable"] < rule["min"] else self.env._("no")
            entry.update(
                code=product.default_code or "",
                lots=len(entry["lots"]),
                days_of_cover=rule["cover"] if rule else None,
                below_min=below,
            )
            rows.append(entry)
        return sorted(rows, key=lambda row: row["product"])

    def _meso_count_rows(self):
        """What is on hand now, by location, product and lot: the lines to count."""
        rows = []
        for location, product, lot, quantity in self.env["stock.quant"]._read_group(
            [("product_id.meso_is_vial", "=", True)] + self._meso_locations_domain(),
            ["location_id", "product_id", "lot_id"],
            ["quantity:sum"],
        ):
            if abs(quantity) < 1e-9:
                continue
            rows.append(
                {
                    "location": location.display_name,
                    "product": product.display_name,
                    "lot": lot.name or "",
                    "expiration": fields.Date.to_date(lot.expiration_date)
                    if lot.expiration_date
                    else None,
                    "expected": quantity,
                    "counted": None,
                    "variance": "",
                    "location_id": location.id,
                    "product_id": product.id,
                    "lot_id": lot.id or None,
                }
            )
        return sorted(rows, key=lambda row: (row["location"], row["product"], row["lot"]))

    # ------------------------------------------------------------------
    # Import of the filled-in count sheet
    # ------------------------------------------------------------------
    def action_import_counts(self):
        """Apply the counted quantities as one inventory adjustment, or nothing at all.

        Each count is what was on the shelf when the sheet was exported: what moved in
        or out of that location, product and lot since then is added to it, so that a
        sheet counted before two sessions and imported after them does not put the
        injected vials back."""
        self.ensure_one()
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
            location, product, lot = key
            quants |= Quant.create(
                {
                    "product_id": product.id,
                    "location_id": location.id,
                    "lot_id": lot.id,
                    "inventory_quantity": max(counted + moved.get(key, 0.0), 0.0),
                }
            )
        changed = quants.filtered(
            lambda q: (
                not float_is_zero(
                    q.inventory_diff_quantity, precision_rounding=q.product_uom_id.rounding
                )
            )
        )
        (quants - changed).action_clear_inventory_quantity()
        if changed:
            changed.with_context(
                inventory_name=self.import_reason or self.env._("Stock audit count")
            )._apply_inventory()
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
                "next": {"type": "ir.actions.act_window_close"},
            },
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
        if META_SHEET not in book.sheetnames or COUNT_SHEET not in book.sheetnames:
            raise UserError(not_ours)
        meta = {
            row[0]: row[1] for row in book[META_SHEET].iter_rows(values_only=True) if row and row[0]
        }
        if (
            meta.get("signature") != SIGNATURE
            or meta.get("database") != self._meso_database_token()
            or not str(meta.get("count_rows", "")).isdigit()
            or not meta.get("exported_at")
        ):
            raise UserError(not_ours)
        rows = book[COUNT_SHEET].iter_rows(values_only=True)
        header = [column.header for column in COUNT]
        first = next(rows, None)
        if not first or list(first[: len(header)]) != header:
            raise UserError(not_ours)
        limit = int(meta["count_rows"]) + MAX_ADDED_ROWS
        counts, errors = self._meso_parse_count_rows(rows, limit)
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

    def _meso_parse_count_rows(self, rows, limit):
        """{(location, product, lot): counted} and [(row, error)] of the filled-in rows,
        reading no further than `limit` data rows and MAX_LISTED_ERRORS wrong ones."""
        index = {column.key: i for i, column in enumerate(COUNT)}
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
            row = list(values or ()) + [None] * (len(COUNT) - len(values or ()))
            if row[0] == "Total":
                continue
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
            key, error = self._meso_resolve_count_row(number, row, index)
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

    def _meso_resolve_count_row(self, number, row, index):
        """((location, product, lot), None) or (None, what is wrong with the row). A row of
        the export must still say what its hidden ids say; a row added by the counter is
        found by what it says (an existing lot, or a new one when its expiry is given)."""
        text = {key: str(row[index[key]] or "").strip() for key in ("location", "product", "lot")}
        ids = [row[index[key]] for key in ("location_id", "product_id", "lot_id")]
        if any(ids):
            return self._meso_resolve_exported_row(number, text, ids)
        return self._meso_resolve_added_row(number, text, row[index["expiration"]])

    def _meso_resolve_exported_row(self, number, text, ids):
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
            (self.env._("location"), text["location"], location.display_name),
            (self.env._("vial"), text["product"], product.display_name),
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

    def _meso_resolve_added_row(self, number, text, expiration):
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
            .search(
                [
                    ("name", "ilike", text["product"].rsplit("] ", 1)[-1]),
                    ("company_id", "in", [False, self.company_id.id]),
                ]
            )
            .filtered(lambda p: p.display_name == text["product"])
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
