"""The audit workbook writer: plain rows in, an xlsx file out.

It knows nothing of Odoo: the wizard reads the ledger and hands over the rows, so that
the layout can change without touching how the numbers are obtained. Rows are written
in order with xlsxwriter's constant-memory mode, so memory does not grow with them.
"""

from collections import namedtuple

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

# kind: text, date, datetime, int, qty, money, days, formula; formula: for the formula
# kind, a template with {row} (1-based) and {col_<key>} letters; total: sum the column in
# a SUBTOTAL row; hidden: a column the import reads back but people need not see.
Column = namedtuple(
    "Column", "key header kind width total hidden formula", defaults=(False, False, None)
)

COUNT_SHEET = "Count sheet"
META_SHEET = "_meso"
SIGNATURE = "meso_inventory stock audit v1"


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

        Each row is a sequence of values in the order of `columns` (a formula column holds
        its value for readers that do not compute; the formula comes from the column).
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
        writers = [self._cell_writer(sheet, column, letters) for column in columns]
        summed = [index for index, column in enumerate(columns) if column.total]
        totals = dict.fromkeys(summed, 0.0)
        count = 0
        for count, row in enumerate(rows, start=1):
            for index, write in enumerate(writers):
                write(count, index, row[index])
            for index in summed:
                value = row[index]
                if value and isinstance(value, int | float):
                    totals[index] += value
        last = max(count, 1)
        sheet.autofilter(0, 0, last, len(columns) - 1)
        if summed and count:
            total_row = count + 1
            sheet.write_string(total_row, 0, "Total", self.formats["total_label"])
            for index in summed:
                letter = xl_col_to_name(index)
                sheet.write_formula(
                    total_row,
                    index,
                    f"=SUBTOTAL(109,{letter}2:{letter}{count + 1})",
                    self.formats["total"],
                    totals[index],
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

    def _cell_writer(self, sheet, column, letters):
        """A function (row index, column index, value) that writes one cell of the column,
        chosen once per column rather than once per cell."""
        fmt = self.formats.get(column.kind)
        if column.kind == "formula":
            template = column.formula

            def write(row, col, value):
                formula = template.format(row=row + 1, **letters)
                sheet.write_formula(row, col, formula, fmt, value if value is not None else "")

            return write
        write_value = {
            "text": sheet.write_string,
            "date": sheet.write_datetime,
            "datetime": sheet.write_datetime,
        }.get(column.kind, sheet.write_number)

        def write(row, col, value):
            if value is None or value is False or value == "":
                if fmt is not None:
                    sheet.write_blank(row, col, None, fmt)
                return
            if fmt is None:
                write_value(row, col, value)
            else:
                write_value(row, col, value, fmt)

        return write

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
