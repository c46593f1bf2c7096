from collections import defaultdict, namedtuple
from datetime import timedelta

import pytz

from odoo import api, fields, models
from odoo.tools import SQL, hmac, split_every
from odoo.tools.translate import LazyTranslate

from .meso_audit_xlsx import Column

_lt = LazyTranslate(__name__)

CHUNK = 20000  # consumption lines read at a time
RECALL_LOTS = 5000  # lots of the recall sheet read at a time

# title: in the export user's language; columns: headers translated likewise; rows: in
# column order, possibly a generator read once while the sheet is written
Sheet = namedtuple("Sheet", "key title columns rows expiry_key")


def _aligned(columns, rows):
    """Rows read as dicts, handed to the writer in column order."""
    keys = [column.key for column in columns]
    return ([row.get(key) for key in keys] for row in rows)


class MesoAuditCollector(models.AbstractModel):
    """The rows of each sheet of the stock audit workbook, for the options of a
    `meso.audit.export`. Each sheet is a `_columns_<sheet>()` (its columns) and a
    `_rows_<sheet>(export, reads)` (its rows, in the columns' order); another module adds
    a column by extending both with `super()`. The reads that several sheets share
    (stock by lot, reordering figures) are made once in `_shared_reads()`."""

    _name = "meso.audit.collector"
    _description = "Stock audit workbook rows"

    @api.model
    def _sheets(self):
        """(key, title, column coloured by expiry) of each sheet, in the workbook's order."""
        return [
            ("summary", _lt("Summary"), None),
            ("stock", _lt("Stock by lot"), "days"),
            ("expiring", _lt("Expiring"), "days"),
            ("consumption", _lt("Consumption"), None),
            ("reorder", _lt("Reorder status"), None),
            ("count", _lt("Count sheet"), None),
            ("recall", _lt("Recall"), None),
            ("udi", _lt("UDI register"), None),
            ("adverse_events", _lt("Adverse events"), None),
        ]

    @api.model
    def _sheet_wanted(self, export, key):
        """Medical data beyond the ledger (adverse events) only when the export asks."""
        if key == "adverse_events":
            return export.include_adverse_events
        return True

    @api.model
    def _collect(self, export):
        """Every sheet of the workbook as a `Sheet`, titles and headers in the language of
        the environment; and the shared reads (`count_rows`: the count sheet's length).
        The consumption and recall sheets are generators that read the ledger a chunk at
        a time while the workbook is written, so that memory does not grow with them."""
        self.env.flush_all()  # the consumption and recall sheets are read with SQL
        reads = self._shared_reads(export)
        sheets = []
        for key, title, expiry_key in self._sheets():
            if not self._sheet_wanted(export, key):
                continue
            columns = [
                column._replace(header=self._header(column.header))
                for column in getattr(self, f"_columns_{key}")()
            ]
            rows = getattr(self, f"_rows_{key}")(export, reads)
            sheets.append(Sheet(key, self.env._(title), columns, rows, expiry_key))
        return sheets, reads

    def _header(self, header):
        # the hidden columns' headers are ids for the import, never translated
        return header if isinstance(header, str) else self.env._(header)

    @api.model
    def _shared_reads(self, export):
        stock = self._read_stock(export)
        count = self._read_count(export)
        return {
            "stock": stock,
            "reorder": self._read_reorder(export),
            "count": count,
            "count_rows": len(count),
        }

    # ------------------------------------------------------------------
    # Summary
    # ------------------------------------------------------------------
    @api.model
    def _columns_summary(self):
        return [
            Column("product", _lt("Product"), "text", 42),
            Column("code", _lt("Reference"), "text", 14),
            Column("qty", _lt("On hand (vials)"), "qty", 12, True),
            Column("ml", _lt("On hand (ml)"), "qty", 12, True),
            Column("value", _lt("Value"), "money", 14, True),
            Column("lots", _lt("Lots"), "int", 8, True),
            Column("nearest_expiry", _lt("Nearest expiry"), "date", 14),
            Column("consumed_vials", _lt("Vials used in period"), "qty", 12, True),
            Column("consumed_ml", _lt("ml injected in period"), "qty", 12, True),
            Column("days_of_cover", _lt("Days of cover"), "qty", 10),
            Column("below_min", _lt("Usable below minimum"), "text", 10),
        ]

    @api.model
    def _rows_summary(self, export, reads):
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
        for row in reads["stock"]:
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
            self._consumption_domain(export), ["product_id"], ["vial_qty:sum", "volume_ml:sum"]
        ):
            entry = entry_of(product.id, product.display_name)
            entry["consumed_vials"] += vials
            entry["consumed_ml"] += ml
        rules = {row["product_id"]: row for row in reads["reorder"]}
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
        rows.sort(key=lambda row: row["product"])
        return _aligned(self._columns_summary(), rows)

    # ------------------------------------------------------------------
    # Stock by lot, and the lots expiring within the horizon
    # ------------------------------------------------------------------
    @api.model
    def _columns_stock(self):
        return [
            Column("product", _lt("Product"), "text", 42),
            Column("profile", _lt("Ingredients"), "text", 40),
            Column("lot", _lt("Lot"), "text", 16),
            Column("expiration", _lt("Expiration date"), "date", 14),
            Column("days", _lt("Days to expiry"), "days", 10),
            Column("location", _lt("Location"), "text", 22),
            Column("qty", _lt("Quantity (vials)"), "qty", 12, True),
            Column("unit_cost", _lt("Unit cost"), "money", 12),
            Column(
                "value",
                _lt("Value"),
                "formula",
                14,
                True,
                formula="={col_qty}{row}*{col_unit_cost}{row}",
            ),
        ]

    @api.model
    def _rows_stock(self, export, reads):
        return _aligned(self._columns_stock(), reads["stock"])

    @api.model
    def _columns_expiring(self):
        return self._columns_stock()

    @api.model
    def _rows_expiring(self, export, reads):
        horizon = fields.Date.to_date(export.as_of) + timedelta(days=export.horizon_days)
        expiring = sorted(
            (row for row in reads["stock"] if row["expiration"] and row["expiration"] <= horizon),
            key=lambda row: (row["expiration"], row["product"], row["lot"]),
        )
        return _aligned(self._columns_expiring(), expiring)

    @api.model
    def _locations_domain(self, export, field="location_id"):
        return [
            (field, "child_of", export.warehouse_id.view_location_id.id),
            (f"{field}.usage", "=", "internal"),
        ]

    @api.model
    def _read_stock(self, export):
        """Quantities by product, lot and location as of the chosen date: today's quants,
        less what came in since, plus what went out since."""
        quantities = defaultdict(float)
        vial = [("product_id.meso_is_vial", "=", True)]
        for product, lot, location, qty in self.env["stock.quant"]._read_group(
            vial + self._locations_domain(export),
            ["product_id", "lot_id", "location_id"],
            ["quantity:sum"],
        ):
            quantities[product, lot, location] += qty
        since = vial + [("state", "=", "done"), ("date", ">", export.as_of)]
        MoveLine = self.env["stock.move.line"]
        for product, lot, location, qty in MoveLine._read_group(
            since + self._locations_domain(export, "location_dest_id"),
            ["product_id", "lot_id", "location_dest_id"],
            ["quantity_product_uom:sum"],
        ):
            quantities[product, lot, location] -= qty
        for product, lot, location, qty in MoveLine._read_group(
            since + self._locations_domain(export, "location_id"),
            ["product_id", "lot_id", "location_id"],
            ["quantity_product_uom:sum"],
        ):
            quantities[product, lot, location] += qty
        products = self.env["product.product"].concat(*{key[0] for key in quantities})
        # only the lot fields the sheets show, not every column of 20,000 lots
        self.env["stock.lot"].concat(*{key[1] for key in quantities}).fetch(
            ["name", "expiration_date"]
        )
        unit_costs = self._unit_costs(export, products)
        unit_field = self.env["meso.composition.line"]._fields["concentration_unit"]
        units = dict(unit_field._description_selection(self.env))  # in the user's language
        profiles = {product: self._profile(product, units) for product in products}
        today = fields.Date.to_date(export.as_of)
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

    @api.model
    def _profile(self, product, units):
        return ", ".join(
            f"{line.ingredient_id.name} {line.concentration:g} {units[line.concentration_unit]}"
            for line in product.meso_composition_ids
        )

    @api.model
    def _unit_costs(self, export, products):
        """Average unit cost of each product at the date, from Odoo's valuation layers.

        Valuation layers are the Inventory administrators' to read; the export is the
        clinic managers' (its access rights), and this read is bound to the export's
        company, one of the user's (meso.audit.export._check_options), hence sudo()."""
        costs = {}
        for product, value, qty in (
            self.env["stock.valuation.layer"]
            .sudo()
            ._read_group(
                [
                    ("product_id", "in", products.ids),
                    ("company_id", "=", export.company_id.id),
                    ("create_date", "<=", export.as_of),
                ],
                ["product_id"],
                ["value:sum", "quantity:sum"],
            )
        ):
            if qty:
                costs[product.id] = value / qty
        for product in products:
            costs.setdefault(product.id, product.with_company(export.company_id).standard_price)
        return costs

    # ------------------------------------------------------------------
    # Consumption
    # ------------------------------------------------------------------
    @api.model
    def _columns_consumption(self):
        return [
            Column("date", _lt("Date"), "datetime", 17),
            Column("session", _lt("Session"), "text", 16),
            Column("patient", _lt("Patient"), "text", 24),
            Column("practitioner", _lt("Practitioner"), "text", 20),
            Column("product", _lt("Product"), "text", 40),
            Column("lot", _lt("Lot"), "text", 16),
            Column("ml", _lt("ml"), "qty", 9, True),
            Column("vials", _lt("Vials"), "qty", 9, True),
            Column("waste", _lt("Waste (ml)"), "qty", 10, True),
            Column("cost", _lt("Cost"), "money", 12, True),
        ]

    @api.model
    def _rows_consumption(self, export, reads):
        Consumption = self.env["meso.treatment.consumption"]
        Consumption.check_field_access_rights("read", ["cost", "volume_ml", "patient_id"])
        columns = ["l.name", "c.volume_ml", "c.vial_qty", "c.waste_ml", "c.cost"]
        yield from self._ledger_rows(export, [], columns)

    @api.model
    def _ledger_rows(self, export, domain, columns):
        """The ledger lines of the export (and `domain`) in date order, read CHUNK at a
        time with one query each and not kept: memory stays flat whatever the number of
        lines. Each row: date, session, patient, practitioner, product, then the values of
        `columns` (SQL expressions over the ledger `c` and the lot `l`)."""
        Consumption = self.env["meso.treatment.consumption"]
        ids = Consumption.search(
            self._consumption_domain(export) + domain, order="date, session_id, id"
        ).ids
        names = self._names()
        local = self._local_time()
        extra = SQL(", ").join(SQL(column) for column in columns)
        for chunk in split_every(CHUNK, ids):
            lines = {
                row[0]: row[1:]
                for row in self.env.execute_query(
                    SQL(
                        """SELECT c.id, %s, s.id, s.name, c.patient_id, c.practitioner_id,
                                  c.product_id, %s
                             FROM meso_treatment_consumption c
                             JOIN meso_treatment_session s ON s.id = c.session_id
                             JOIN stock_lot l ON l.id = c.lot_id
                            WHERE c.id = ANY(%s)""",
                        local(SQL("c.date")),
                        extra,
                        list(chunk),
                    )
                )
            }
            patients = names(
                "meso.patient",
                {r[3] for r in lines.values()},
                lambda patient: self._patient_label(export, patient),
            )
            users = names("res.users", {r[4] for r in lines.values()}, lambda user: user.name)
            products = names("product.product", {r[5] for r in lines.values()})
            for line_id in chunk:
                date, session_id, session, patient, user, product, *values = lines[line_id]
                yield (
                    date,
                    self._session_label(export, session_id, session),
                    patients.get(patient, ""),
                    users.get(user, ""),
                    products[product],
                    *values,
                )

    @api.model
    def _consumption_domain(self, export):
        return [
            ("session_state", "=", "done"),
            ("company_id", "=", export.company_id.id),
            ("session_id.warehouse_id", "=", export.warehouse_id.id),
            ("date", ">=", export.period_start),
            ("date", "<=", export.period_end),
        ]

    @api.model
    def _names(self):
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

    @api.model
    def _local_time(self):
        """SQL converting a stored UTC datetime column to the user's time zone."""
        timezone = self.env.user.tz if self.env.user.tz in pytz.all_timezones_set else "UTC"
        return lambda column: SQL("(%s AT TIME ZONE 'UTC') AT TIME ZONE %s", column, timezone)

    # ------------------------------------------------------------------
    # Pseudonyms
    # ------------------------------------------------------------------
    @api.model
    def _patient_label(self, export, patient):
        if not export.pseudonymise:
            return patient.name
        return self._pseudonym("PT", "meso_inventory.audit-patient", patient.id)

    @api.model
    def _session_label(self, export, session_id, name):
        """A session's reference leads to its patient (through its pickings, its chatter):
        a pseudonymised workbook gives a stable code instead."""
        if not export.pseudonymise:
            return name
        return self._pseudonym("SE", "meso_inventory.audit-session", session_id)

    @api.model
    def _pseudonym(self, prefix, scope, record_id):
        digest = hmac(self.env(su=True), scope, record_id)
        return f"{prefix}-{digest[:10].upper()}"

    # ------------------------------------------------------------------
    # UDI register
    # ------------------------------------------------------------------
    @api.model
    def _columns_udi(self):
        # one row per device of the UDI register a patient received (MDR Art. 27(9))
        return [
            Column("date", _lt("Date"), "datetime", 17),
            Column("session", _lt("Session"), "text", 16),
            Column("patient", _lt("Patient"), "text", 24),
            Column("practitioner", _lt("Practitioner"), "text", 20),
            Column("product", _lt("Product"), "text", 40),
            Column("gtin", _lt("GTIN"), "text", 16),
            Column("lot", _lt("Lot"), "text", 16),
            Column("serial", _lt("Serial number"), "text", 16),
            Column("expiry", _lt("Expiry"), "date", 12),
            Column("scanned", _lt("Scanned"), "text", 9),
        ]

    @api.model
    def _rows_udi(self, export, reads):
        """The ledger lines of UDI-register devices, read as the consumption sheet's."""
        Consumption = self.env["meso.treatment.consumption"]
        Consumption.check_field_access_rights("read", ["patient_id", "udi_gtin"])
        scanned = {True: self.env._("yes"), False: self.env._("no")}
        columns = ["c.udi_gtin", "l.name", "c.udi_serial", "c.udi_expiry", "c.udi_scanned"]
        for row in self._ledger_rows(export, [("udi_register", "=", True)], columns):
            *head, gtin, lot, serial, expiry, done = row
            yield (*head, gtin or "", lot, serial or "", expiry, scanned[bool(done)])

    # ------------------------------------------------------------------
    # Reorder status
    # ------------------------------------------------------------------
    @api.model
    def _columns_reorder(self):
        return [
            Column("product", _lt("Product"), "text", 42),
            Column("warehouse", _lt("Clinic"), "text", 16),
            Column("on_hand", _lt("On hand"), "qty", 10),
            Column("usable", _lt("Usable"), "qty", 10),
            Column("forecast", _lt("Forecast (incl. open RFQs)"), "qty", 10),
            Column("min", _lt("Min"), "qty", 8),
            Column("max", _lt("Max"), "qty", 8),
            Column("daily", _lt("Daily use"), "qty", 10),
            Column("cover", _lt("Days of cover"), "qty", 10),
            Column("rfq_qty", _lt("On open RFQs"), "qty", 10),
            Column("rfq_refs", _lt("RFQs"), "text", 20),
        ]

    @api.model
    def _rows_reorder(self, export, reads):
        return _aligned(self._columns_reorder(), reads["reorder"])

    @api.model
    def _read_reorder(self, export):
        """One dict per vial reordering rule of the clinic, from grouped reads: Odoo's
        on hand and forecast at the rule's location (the grouped reads behind the
        product's `qty_available` and `virtual_available`, all rules of a location at
        once), less what will expire unused, and the open RFQs."""
        orderpoints = self.env["stock.warehouse.orderpoint"].search(
            [("warehouse_id", "=", export.warehouse_id.id), ("product_id.meso_is_vial", "=", True)]
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

    # ------------------------------------------------------------------
    # Count sheet
    # ------------------------------------------------------------------
    @api.model
    def _columns_count(self):
        """The import (meso.audit.count.import) finds these columns by their keys, which
        the workbook's meta sheet lists in this order, and each exported row by its
        hidden ids: the headers are for people, in their language."""
        return [
            Column("location", _lt("Location"), "text", 22),
            Column("product", _lt("Product"), "text", 42),
            Column("lot", _lt("Lot"), "text", 16),
            Column("expiration", _lt("Expiration date"), "date", 14),
            Column("expected", _lt("Expected"), "qty", 10, True),
            Column("counted", _lt("Counted"), "qty", 10),
            Column(
                "variance",
                _lt("Variance"),
                "formula",
                10,
                formula='=IF({col_counted}{row}="","",{col_counted}{row}-{col_expected}{row})',
            ),
            Column("location_id", "location_id", "int", 4, hidden=True),
            Column("product_id", "product_id", "int", 4, hidden=True),
            Column("lot_id", "lot_id", "int", 4, hidden=True),
        ]

    @api.model
    def _rows_count(self, export, reads):
        return _aligned(self._columns_count(), reads["count"])

    @api.model
    def _read_count(self, export):
        """What is on hand now, by location, product and lot: the lines to count."""
        rows = []
        for location, product, lot, quantity in self.env["stock.quant"]._read_group(
            [("product_id.meso_is_vial", "=", True)] + self._locations_domain(export),
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
    # Recall
    # ------------------------------------------------------------------
    @api.model
    def _columns_recall(self):
        # one row per lot and patient: whom to contact about a lot
        return [
            Column("lot", _lt("Lot"), "text", 16),
            Column("product", _lt("Product"), "text", 40),
            Column("expiration", _lt("Expiration date"), "date", 14),
            Column("patient", _lt("Patient"), "text", 24),
            Column("sessions", _lt("Sessions"), "int", 9, True),
            Column("references", _lt("Session references"), "text", 30),
            Column("first", _lt("First session"), "datetime", 17),
            Column("last", _lt("Last session"), "datetime", 17),
            Column("practitioners", _lt("Practitioners"), "text", 24),
            Column("ml", _lt("ml received"), "qty", 10, True),
        ]

    @api.model
    def _rows_recall(self, export, reads):
        """One row per lot consumed in the period and patient who received it, lots in
        name order, read RECALL_LOTS lots at a time and grouped by PostgreSQL."""
        Consumption = self.env["meso.treatment.consumption"]
        domain = self._consumption_domain(export)
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
        names = self._names()
        local = self._local_time()
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
            patients = names(
                "meso.patient",
                {g[1] for g in groups},
                lambda patient: self._patient_label(export, patient),
            )
            users = names(
                "res.users", {u for g in groups for u in g[6] if u}, lambda user: user.name
            )
            products = names("product.product", {lots[g[0]][1] for g in groups})
            position = {lot_id: index for index, lot_id in enumerate(chunk)}
            groups.sort(key=lambda g: (position[g[0]], g[4], patients.get(g[1], "")))
            for lot_id, patient, count, sessions, first, last, user_ids, ml in groups:
                lot, product, expiration = lots[lot_id]
                references = ", ".join(
                    sorted(self._session_label(export, int(sid), name) for sid, name in sessions)
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

    # ------------------------------------------------------------------
    # Adverse events (only when the export asks)
    # ------------------------------------------------------------------
    @api.model
    def _columns_adverse_events(self):
        return [
            Column("date", _lt("Noticed on"), "date", 12),
            Column("session", _lt("Session"), "text", 16),
            Column("patient", _lt("Patient"), "text", 24),
            Column("practitioner", _lt("Practitioner"), "text", 20),
            Column("severity", _lt("Severity"), "text", 10),
            Column("lots", _lt("Lots"), "text", 20),
            Column("description", _lt("Description"), "text", 40),
            Column("treatment", _lt("Treatment given"), "text", 30),
            Column("outcome", _lt("Outcome"), "text", 30),
            Column("reported", _lt("Reported"), "text", 9),
            Column("authority_ref", _lt("Authority reference"), "text", 18),
        ]

    @api.model
    def _rows_adverse_events(self, export, reads):
        """The adverse events after the clinic's sessions of the period, read as the
        exporting manager (the company rule applies)."""
        events = self.env["meso.adverse.event"].search(
            [
                ("session_id.warehouse_id", "=", export.warehouse_id.id),
                ("session_id.date", ">=", export.period_start),
                ("session_id.date", "<=", export.period_end),
            ],
            order="date, id",
        )
        severities = dict(events._fields["severity"]._description_selection(self.env))
        rows = [
            {
                "date": event.date,
                "session": self._session_label(export, event.session_id.id, event.session_id.name),
                "patient": self._patient_label(export, event.patient_id),
                "practitioner": event.practitioner_id.name or "",
                "severity": severities.get(event.severity, ""),
                "lots": ", ".join(event.lot_ids.mapped("name")),
                "description": event.description or "",
                "treatment": event.treatment or "",
                "outcome": event.outcome or "",
                "reported": self.env._("yes") if event.reported else self.env._("no"),
                "authority_ref": event.authority_ref or "",
            }
            for event in events
        ]
        return _aligned(self._columns_adverse_events(), rows)
