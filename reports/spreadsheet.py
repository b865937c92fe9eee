"""Writing rows out as CSV (streamed) and XLSX (openpyxl write-only), safely.

Safe whatever users typed: a cell that a spreadsheet would read as a formula
is prefixed with a single quote, in CSV and XLSX alike (OWASP "CSV injection").
That is a cell whose first character that is not blank is = + - or @ (after
spaces, non-breaking spaces, tabs, newlines, control or zero-width characters,
which spreadsheets skip), full-width and small forms (＝ ＋ － ＠) included, and
a cell beginning with a tab or a carriage return. Only text is escaped: numbers
and dates the export itself writes are left as they are.
"""

import csv
import datetime as dt
import io
import itertools
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
# Rows written to the CSV buffer before it is handed to the server: each piece costs the
# server a round of its own; a thousand rows (about 300 kB) keep memory low.
FLUSH_EVERY = 1000


# What a spreadsheet skips before it looks for a formula sign: spaces of every
# kind (Z*), control characters (Cc, newlines and tabs among them) and invisible
# formatting characters (Cf: zero-width space, byte-order mark, direction marks).
_SKIPPED = ("Zs", "Zl", "Zp", "Cc", "Cf")
# ＝ ＋ － ＠ and the small forms become = + - @ under NFKC; the minus sign does not.
_SIGNS = frozenset("=+-@\u2212")


def is_formula(value: str) -> bool:
    if not value:
        return False
    first = value[0]
    if " " < first < "\x7f":  # printable ASCII but a space: nearly every cell
        return first in "=+-@"
    if value.startswith(FORMULA_STARTS):
        return True
    for char in value:
        if unicodedata.category(char) in _SKIPPED:
            continue
        return unicodedata.normalize("NFKC", char)[:1] in _SIGNS
    return False


def safe_text(value: str) -> str:
    return "'" + value if is_formula(value) else value


def _csv_cells(row, tz) -> list:
    """A row as csv.writer should receive it. It writes None as nothing and numbers and
    dates with str() (a date's is its ISO form) itself: only text (formulas) and date-times
    (local time, to the minute) need anything done here."""
    cells = []
    for value in row:
        kind = type(value)
        if kind is str:
            if is_formula(value):
                value = "'" + value
        elif kind is dt.datetime:
            if value.tzinfo is not None:
                value = value.astimezone(tz)
            value = value.isoformat(" ", "minutes")[:16]
        elif kind is bool:
            value = "1" if value else "0"
        cells.append(value)
    return cells


def cell(value):
    """One value as a spreadsheet should receive it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, dt.datetime):
        # Local time, without offset: spreadsheets have no time zones. A naive date-time is
        # already local (reports.exports.LocalTime).
        if value.tzinfo is not None:
            value = timezone.localtime(value).replace(tzinfo=None)
        return value.replace(microsecond=0)
    return value


def csv_stream(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    """UTF-8 text with a byte-order mark (Excel then reads Khmer right), ``FLUSH_EVERY``
    rows per piece, so memory stays flat however many rows there are."""
    tz = timezone.get_current_timezone()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow([safe_text(str(h)) for h in header])
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, FLUSH_EVERY)):
        writer.writerows([_csv_cells(row, tz) for row in chunk])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if tail := buffer.getvalue():
        yield tail  # the header of an export without rows


def _xlsx_value(value):
    if isinstance(value, str):
        # Control characters are not allowed in XLSX XML: openpyxl would refuse the cell.
        # Removed before the formula check, so "\x01=cmd" cannot become "=cmd" after it.
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return cell(value)


def xlsx_file(title: str, header: list[str], rows: Iterable[list], widths=()) -> tuple:
    """Write the rows to an unnamed temporary file; return (file, rows written).

    Write-only mode streams rows to disk as they come, so memory stays flat.
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    for index, width in enumerate(widths):
        sheet.column_dimensions[_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append([_xlsx_value(str(h)) for h in header])
    count = 0
    try:
        for row in rows:
            sheet.append([_xlsx_value(v) for v in row])
            count += 1
    except BaseException:
        _discard(sheet)
        raise
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(handle)
    handle.seek(0)
    return handle, count


def _discard(sheet) -> None:
    """A sheet cut off mid-way (its rows failed): end its stream and delete the temporary
    file openpyxl was writing it to, rather than leave both to the garbage collector."""
    sheet.close()
    if sheet._writer is not None:
        sheet._writer.cleanup()


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)
