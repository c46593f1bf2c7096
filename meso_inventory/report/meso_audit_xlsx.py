"""The audit workbook writer: plain rows in, an xlsx file out.

It knows nothing of Odoo: meso.audit.collector reads the ledger and hands over the rows,
so that the layout can change without touching how the numbers are obtained. Rows are written
in order with xlsxwriter's constant-memory mode, so memory does not grow with them.

xlsxwriter turns every cell into a record and then into XML, about 6 µs a cell; a
100,000-line export has two million cells. The columns of a table have one type each,
so `TableSheet` writes a data row as one string made from per-column templates, with
the XML xlsxwriter itself writes for those cells (a test compares the two byte for
byte). A row holding anything out of the ordinary (a string to escape, a value of
another type) goes through xlsxwriter's own methods.

Every table prints as a report: landscape, one page wide, its header row on every page,
the clinic, the sheet and the export date in the page header. Text columns are as wide as
their longest value (within a cap), measured by the cell writers as the rows stream past
(the fast path already takes each string's length).
"""

import math
import re
from collections import namedtuple
from datetime import date, datetime
from math import isfinite

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

# kind: text, date, datetime, int, qty, money, days, formula; formula: for the formula
# kind, a template with {row} (1-based) and {col_<key>} letters; total: sum the column in
# a SUBTOTAL row; hidden: a column the import reads back but people need not see.
Column = namedtuple(
    "Column", "key header kind width total hidden formula", defaults=(False, False, None)
)

# paper: xlsxwriter's paper index (1 US Letter, 9 A4); header_left, header_right, footer:
# plain text (the sheet's name goes in the middle of the header); page: the footer's page
# number, with Excel's codes &P (page) and &N (pages)
PageSetup = namedtuple(
    "PageSetup",
    "paper header_left header_right footer page",
    defaults=(9, "", "", "", "&P / &N"),
)

MAX_ROWS = 1048576  # an xlsx sheet's limit: header, data rows and the total row
META_SHEET = "_meso"
SIGNATURE = "meso_inventory stock audit v1"
TEXT_WIDTH_MAX = 60  # characters: wider, a landscape page would hold too few columns
HEADER_TEXT_MAX = 60  # characters of each part of a page header: Excel takes 255 in all
PAPER_SIZES = {"Letter": 1, "Legal": 5, "A3": 8, "A4": 9, "A5": 11}


def sheet_name(title):
    """A sheet name Excel accepts: 31 characters at most, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", "-", str(title)).strip("'")[:31] or "Sheet"


def _header_text(text):
    """Plain text for a page header or footer: '&' starts Excel's codes."""
    return str(text)[:HEADER_TEXT_MAX].replace("&", "&&")


def _header_width(header):
    """Characters a column needs for its header, wrapped on two lines."""
    longest_word = max((len(word) for word in header.split()), default=0)
    return max(longest_word, math.ceil(len(header) / 2)) + 2


class AuditWorkbook:
    def __init__(
        self, fileobj, horizon_days=90, row_templates=True, total_label="Total", page=None
    ):
        """`row_templates=False` writes every cell with xlsxwriter's own methods (the
        reference the templates are tested against); `total_label` heads the totals
        row; `page` (a `PageSetup`) how the tables print."""
        self.book = xlsxwriter.Workbook(
            fileobj, {"constant_memory": True, "default_date_format": "yyyy-mm-dd"}
        )
        self.book.worksheet_class = TableSheet
        self.horizon_days = horizon_days
        self.row_templates = row_templates
        self.total_label = total_label
        self.page = page or PageSetup()
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
        name = sheet_name(name)
        sheet = self.book.add_worksheet(name)
        letters = {f"col_{c.key}": xl_col_to_name(i) for i, c in enumerate(columns)}
        self._print_setup(sheet, name)
        sheet.set_row(0, 30)
        for index, column in enumerate(columns):
            sheet.write_string(0, index, column.header, self.formats["header"])
        sheet.freeze_panes(1, 0)
        longest = [0] * len(columns)  # characters of each text column's longest value
        writers = [
            self._cell_writer(sheet, i, column, letters, longest)
            for i, column in enumerate(columns)
        ]
        templates = self.row_templates and (
            lambda: [
                self._cell_template(sheet, i, column, letters, longest)
                for i, column in enumerate(columns)
            ]
        )
        summed = [index for index, column in enumerate(columns) if column.total]
        totals = dict.fromkeys(summed, 0.0)

        def summing(rows):
            for row in rows:
                for index in summed:
                    value = row[index]
                    if value and isinstance(value, int | float):
                        totals[index] += value
                yield row

        count = sheet.write_rows(1, templates, writers, summing(rows) if summed else rows)
        # xlsxwriter writes the column widths when the file closes, so they can come from
        # the rows just written
        for index, column in enumerate(columns):
            width = max(column.width, _header_width(column.header))
            if column.kind == "text":
                width = min(max(longest[index] + 2, _header_width(column.header)), TEXT_WIDTH_MAX)
            options = {"hidden": True} if column.hidden else {}
            sheet.set_column(index, index, column.width if column.hidden else width, None, options)
        last = max(count, 1)
        sheet.autofilter(0, 0, last, len(columns) - 1)
        if summed and count:
            total_row = count + 1
            sheet.write_string(total_row, 0, self.total_label, self.formats["total_label"])
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

    def _print_setup(self, sheet, name):
        page = self.page
        sheet.set_landscape()
        sheet.set_paper(page.paper)
        sheet.fit_to_pages(1, 0)  # one page wide, as many pages long as the rows need
        sheet.repeat_rows(0)
        sheet.hide_gridlines(0)  # gridlines on paper as on screen
        sheet.set_header(
            f"&L{_header_text(page.header_left)}&C{_header_text(name)}"
            f"&R{_header_text(page.header_right)}"
        )
        sheet.set_footer(f"&L{_header_text(page.footer)}&R{page.page}")

    def _cell_template(self, sheet, index, column, letters, longest):
        """A function (1-based row number, value) that returns the cell's XML as
        xlsxwriter writes it, or raises `Unusual` for a value it leaves to xlsxwriter.
        A text cell keeps the length of the column's longest value in `longest`."""
        ref = xl_col_to_name(index)
        fmt = self.formats.get(column.kind)
        style = f' s="{fmt._get_xf_index()}"' if fmt is not None else ""
        blank = f'<c r="{ref}{{}}"{style}/>' if fmt is not None else ""

        if column.kind == "formula":
            # prepared once, the row number left as a placeholder (a NUL, as xlsxwriter
            # strips braces)
            formula = sheet._prepare_formula(column.formula.format(row="\0", **letters))
            formula = _escape(formula).replace("{", "{{").replace("}", "}}").replace("\0", "{row}")
            template = f'<c r="{ref}{{row}}"{style}><f>{formula}</f><v>{{value}}</v></c>'

            def cell(row, value):
                if value is None:
                    value = ""
                elif value != "" and type(value) not in (int, float):
                    raise Unusual
                return template.format(row=row, value=value)

            return cell

        if column.kind == "text":
            limit = sheet.xls_strmax // 2

            def cell(row, value):
                if value is None or value is False or value == "":
                    return blank.format(row) if blank else ""
                if type(value) is not str:
                    raise Unusual
                length = len(value)
                if length > limit or _SPECIAL_TEXT.search(value):
                    raise Unusual
                longest[index] = max(longest[index], length)
                return f'<c r="{ref}{row}"{style} t="inlineStr"><is><t>{value}</t></is></c>'

            return cell

        if column.kind in ("date", "datetime"):
            convert = sheet._convert_date_time

            def cell(row, value):
                if value is None or value is False or value == "":
                    return blank.format(row) if blank else ""
                if type(value) not in (date, datetime):
                    raise Unusual
                return f'<c r="{ref}{row}"{style}><v>{convert(value):.16G}</v></c>'

            return cell

        def cell(row, value):
            if value is None or value is False or value == "":
                return blank.format(row) if blank else ""
            if type(value) is not int and (type(value) is not float or not isfinite(value)):
                raise Unusual
            return f'<c r="{ref}{row}"{style}><v>{value:.16G}</v></c>'

        return cell

    def _cell_writer(self, sheet, index, column, letters, longest):
        """A function (row index, column index, value) that writes one cell of the column,
        chosen once per column rather than once per cell; a text cell keeps the length
        of the column's longest value in `longest`."""
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
            if column.kind == "text" and len(str(value)) > longest[index]:
                longest[index] = len(str(value))
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


class Unusual(Exception):
    """A cell value that the row template leaves to xlsxwriter's own methods."""


class SheetFull(ValueError):
    """More rows than an xlsx sheet holds."""


# what xlsxwriter escapes or marks in an inline string: XML specials, control
# characters, its own _xHHHH_ escapes, non-characters, leading or trailing spaces
_SPECIAL_TEXT = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9A-Fa-f]{4}_|^\s|\s$")


def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _row_cells(templates, number, values):
    """The cells of a row as XML, or None when one of them is left to xlsxwriter."""
    try:
        return "".join([cell(number, values[i]) for i, cell in enumerate(templates)])
    except Unusual:
        return None


class TableSheet(Worksheet):
    """xlsxwriter's worksheet (installed with `Workbook.worksheet_class`, xlsxwriter's
    way to extend it), with a fast way to write a table's data rows in constant-memory
    mode (see the module's docstring).

    It leans on a few of xlsxwriter's internals, the same from 3.0.2 (Odoo 18's pin on
    Python < 3.12) to 3.1.9 (its pin on 3.12) and 3.3: the row file `fh`,
    `previous_row`, `_write_single_row`, `_check_dimensions`, `_prepare_formula`,
    `_convert_date_time`, `Format._get_xf_index`. test_audit_workbook compares the
    whole file with the one xlsxwriter writes by itself, so a change there fails a
    test instead of producing a different file."""

    def write_rows(self, first_row, templates, writers, rows):
        """Write `rows` from `first_row` (0-based) on, each row a sequence of values in
        column order. `templates` returns each column's cell template (none: not used);
        it is called once the rows above are written, as xlsxwriter numbers the cell
        styles in the order it first writes them. `writers` write a cell with
        xlsxwriter's own methods. Returns the number of rows written."""
        fast = bool(templates) and self.constant_memory
        if fast:
            self._write_single_row(first_row)  # what was written before, e.g. the header
            templates = templates()
            write = self.fh.write
        row = first_row - 1
        for row, values in enumerate(rows, start=first_row):
            if row >= MAX_ROWS - 1:  # the last row is kept for the totals
                raise SheetFull(self.name, MAX_ROWS - 1 - first_row)
            if fast:
                cells = _row_cells(templates, row + 1, values)
                if cells is not None:
                    write(f'<row r="{row + 1}">{cells}</row>')
                    continue
            for index, write_cell in enumerate(writers):
                write_cell(row, index, values[index])
            if fast:
                self._write_single_row(row + 1)
        if fast and row >= first_row:
            self._check_dimensions(row, len(templates) - 1, ignore_col=True)
            self.previous_row = max(self.previous_row, row)
        return row - first_row + 1
