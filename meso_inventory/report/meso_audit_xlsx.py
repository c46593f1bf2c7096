"""The audit workbook writer: plain rows in, an xlsx file out.

It knows nothing of Odoo: the wizard reads the ledger and hands over the rows, so that
the layout can change without touching how the numbers are obtained. Rows are written
in order with xlsxwriter's constant-memory mode, so memory does not grow with them.
"""

from collections import namedtuple

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

# kind: text, date, datetime, int, qty, money, days, formula (a template with {row},
# 1-based, and {col_<key>} letters); total: sum the column in a SUBTOTAL row.
Column = namedtuple("Column", "key header kind width total hidden", defaults=(False, False))

COUNT_SHEET = "Count sheet"
META_SHEET = "_meso"
SIGNATURE = "meso_inventory stock audit v1"


def _number(value):
    if isinstance(value, tuple):  # a formula and its value
        value = value[1]
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0


class AuditWorkbook:
    def __init__(self, fileobj, horizon_days=90):
        self.book = xlsxwriter.Workbook(
            fileobj, {"constant_memory": True, "default_date_format": "yyyy-mm-dd"}
        )
        self.horizon_days = horizon_days
        add = self.book.add_format
        self.formats = {
            "header": add(
                {
                    "bold": True,
                    "bg_color": "#26707A",
                    "font_color": "#FFFFFF",
                    "text_wrap": True,
                    "valign": "top",
                    "border": 1,
                }
            ),
            "text": None,
            "date": add({"num_format": "yyyy-mm-dd"}),
            "datetime": add({"num_format": "yyyy-mm-dd hh:mm"}),
            "int": add({"num_format": "0"}),
            "qty": add({"num_format": "#,##0.00"}),
            "money": add({"num_format": "#,##0.00"}),
            "days": add({"num_format": "0"}),
            "formula": add({"num_format": "#,##0.00"}),
            "total_label": add({"bold": True, "top": 2}),
            "total": add({"bold": True, "top": 2, "num_format": "#,##0.00"}),
            "expired": add({"bg_color": "#F4C7C3", "font_color": "#9C0006"}),
            "expiring": add({"bg_color": "#FFE699", "font_color": "#7F6000"}),
        }

    def sheet(self, name, columns, rows, expiry_key=None):
        """Write one table: styled header, frozen, filtered, totals as live formulas.

        `rows` may be a generator: it is read once, in order, and not kept."""
        sheet = self.book.add_worksheet(name)
        letters = {f"col_{c.key}": xl_col_to_name(i) for i, c in enumerate(columns)}
        for index, column in enumerate(columns):
            options = {"hidden": True} if column.hidden else {}
            sheet.set_column(index, index, column.width, None, options)
        sheet.set_row(0, 30)
        for index, column in enumerate(columns):
            sheet.write_string(0, index, column.header, self.formats["header"])
        sheet.freeze_panes(1, 0)
        count = 0
        totals = {column.key: 0.0 for column in columns if column.total}
        for count, row in enumerate(rows, start=1):
            self._write_row(sheet, count, columns, row, letters)
            for key in totals:
                totals[key] += _number(row.get(key))
        last = max(count, 1)
        sheet.autofilter(0, 0, last, len(columns) - 1)
        if any(c.total for c in columns) and count:
            total_row = count + 1
            sheet.write_string(total_row, 0, "Total", self.formats["total_label"])
            for index, column in enumerate(columns):
                if column.total:
                    letter = xl_col_to_name(index)
                    sheet.write_formula(
                        total_row,
                        index,
                        f"=SUBTOTAL(109,{letter}2:{letter}{count + 1})",
                        self.formats["total"],
                        totals[column.key],
                    )
        if expiry_key and count:
            index = next(i for i, c in enumerate(columns) if c.key == expiry_key)
            cells = f"{xl_col_to_name(index)}2:{xl_col_to_name(index)}{count + 1}"
            sheet.conditional_format(
                cells,
                {"type": "cell", "criteria": "<", "value": 0, "format": self.formats["expired"]},
            )
            sheet.conditional_format(
                cells,
                {
                    "type": "cell",
                    "criteria": "between",
                    "minimum": 0,
                    "maximum": self.horizon_days,
                    "format": self.formats["expiring"],
                },
            )
        return count

    def _write_row(self, sheet, row_index, columns, row, letters):
        for col_index, column in enumerate(columns):
            value = row.get(column.key)
            fmt = self.formats[column.kind] if column.kind in self.formats else None
            if column.kind == "formula":
                formula, result = (
                    value  # the formula, and its value for readers that do not compute
                )
                sheet.write_formula(
                    row_index, col_index, formula.format(row=row_index + 1, **letters), fmt, result
                )
            elif value is None or value is False or value == "":
                sheet.write_blank(row_index, col_index, None, fmt)
            elif column.kind in ("date", "datetime"):
                sheet.write_datetime(row_index, col_index, value, fmt)
            elif column.kind == "text":
                sheet.write_string(row_index, col_index, str(value))
            else:
                sheet.write_number(row_index, col_index, value, fmt)

    def meta(self, values):
        """A hidden sheet that tells an import that the file is ours."""
        sheet = self.book.add_worksheet(META_SHEET)
        sheet.write_string(0, 0, "signature")
        sheet.write_string(0, 1, SIGNATURE)
        for row, (key, value) in enumerate(values.items(), start=1):
            sheet.write_string(row, 0, key)
            sheet.write_string(row, 1, str(value))
        sheet.hide()

    def close(self):
        self.book.close()
