"""Reading an uploaded CSV or XLSX into rows of text, with plain-words refusals."""

import csv
import datetime as dt
import io
import re
import zipfile

from django.conf import settings
from django.utils.translation import gettext as _

from casework.models import nfc

from .columns import COLUMNS, KEYS

MAX_ROWS = getattr(settings, "IMPORT_MAX_ROWS", 5000)
# An XLSX is a zip: refuse one that would unpack to more than this (a "zip bomb").
MAX_UNPACKED_BYTES = 50 * 1024 * 1024


class ImportFileError(Exception):
    """The file as a whole cannot be read: nothing of it is looked at further."""


def read_upload(name: str, data: bytes) -> list[dict]:
    """The rows of a CSV or XLSX file as ``{"_row": n, column: text}``; header is row 1."""
    table = _read_xlsx(data) if name.lower().endswith(".xlsx") else _read_csv(data)
    # Row numbers as the spreadsheet shows them, blank rows skipped.
    numbered = [(n, cells) for n, cells in enumerate(table, start=1) if any(cells)]
    if not numbered:
        raise ImportFileError(_("The file has no rows."))
    header = [_header_key(cell) for cell in numbered[0][1]]
    while header and not header[-1]:
        header.pop()
    _check_header(header)
    if len(numbered) - 1 > MAX_ROWS:
        raise ImportFileError(
            _(
                "The file has more than %(max)d rows, the most that can be imported at once. "
                "Split it into smaller files."
            )
            % {"max": MAX_ROWS}
        )
    rows = []
    for number, cells in numbered[1:]:
        extra = [cell for cell in cells[len(header) :] if cell]
        row = {"_row": number, "_extra": bool(extra)}
        for index, key in enumerate(header):
            row[key] = cells[index] if index < len(cells) else ""
        rows.append(row)
    if not rows:
        raise ImportFileError(_("The file has a header row but no data rows."))
    return rows


def _header_key(cell: str) -> str:
    return re.sub(r"[\s\-]+", "_", (cell or "").strip().lower())


def _check_header(header: list[str]):
    unknown = [key for key in header if key and key not in KEYS]
    if unknown:
        raise ImportFileError(
            _(
                "These columns are not ones Casework knows: %(cols)s. Use the column names of "
                "the template file."
            )
            % {"cols": ", ".join(f"“{key}”" for key in unknown)}
        )
    if "" in header:
        raise ImportFileError(_("A column has no name in the first row."))
    repeated = sorted({key for key in header if header.count(key) > 1})
    if repeated:
        raise ImportFileError(
            _("These columns appear twice: %(cols)s.") % {"cols": ", ".join(repeated)}
        )
    missing = [c.key for c in COLUMNS if c.required and c.key not in header]
    if missing:
        raise ImportFileError(
            _(
                "The file needs these columns: %(cols)s. The first row must name the columns, "
                "as in the template file."
            )
            % {"cols": ", ".join(missing)}
        )


def _read_csv(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(
            _(
                "The file is not in UTF-8, so Khmer names would be garbled. In Excel choose "
                "“Save as… CSV UTF-8”; in LibreOffice tick “Edit filter settings” and choose "
                "Unicode (UTF-8)."
            )
        ) from None
    if "\x00" in text:
        raise ImportFileError(_("This does not look like a CSV file (it contains binary data)."))
    first_line = text.split("\n", 1)[0]
    delimiter = max([",", ";", "\t"], key=first_line.count)
    try:
        return [
            [nfc(cell) for cell in row]
            for row in csv.reader(io.StringIO(text), delimiter=delimiter)
        ]
    except csv.Error as exc:
        message = _("The CSV file cannot be read: %(error)s") % {"error": exc}
        raise ImportFileError(message) from None


def _read_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    if not data.startswith(b"PK\x03\x04"):
        raise ImportFileError(
            _(
                "This is not an Excel workbook (.xlsx), although its name says so. Save it again "
                "as “Excel Workbook (.xlsx)” or as CSV UTF-8."
            )
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_UNPACKED_BYTES:
            raise ImportFileError(_("The workbook is too large once unpacked."))
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except ImportFileError:
        raise
    except Exception:
        raise ImportFileError(
            _(
                "The workbook cannot be opened: it may be damaged, protected by a password, "
                "or an old .xls file. Save it again as .xlsx or as CSV UTF-8."
            )
        ) from None
    try:
        sheet = workbook.worksheets[0]
        table = []
        for values in sheet.iter_rows(values_only=True):
            table.append([_xlsx_text(value) for value in values])
            if len(table) > MAX_ROWS + 10:
                break
        return table
    finally:
        workbook.close()


def _xlsx_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return nfc(str(value))
