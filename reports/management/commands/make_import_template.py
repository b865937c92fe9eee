"""Write the import template files linked from /imports/:

    manage.py make_import_template [--folder static/import]

The column names come from reports.importer.COLUMNS, so the template always
matches what the importer reads. Its example row (reference EXAMPLE-0001) is
refused by the importer: it shows how to fill a row, and must be deleted.
The XLSX has a second sheet explaining each column.
"""

import csv
import io
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import translation
from openpyxl import Workbook
from openpyxl.styles import Font

from reports import importer


def template_csv() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(importer.template_header())
    writer.writerow(importer.template_example())
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def template_xlsx(path: Path):
    book = Workbook()
    sheet = book.active
    sheet.title = "casework-import"
    sheet.append(importer.template_header())
    sheet.append(importer.template_example())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, column in enumerate(importer.COLUMNS, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = max(
            14, len(column.key) + 4
        )
    sheet.freeze_panes = "A2"
    help_sheet = book.create_sheet("columns")
    help_sheet.append(["column", "what it holds", "required"])
    for cell in help_sheet[1]:
        cell.font = Font(bold=True)
    for column in importer.COLUMNS:
        text = f"{column.label}. {column.help}".strip() if column.help else str(column.label)
        help_sheet.append([column.key, text, "yes" if column.required else ""])
    help_sheet.column_dimensions["A"].width = 18
    help_sheet.column_dimensions["B"].width = 100
    book.save(path)


class Command(BaseCommand):
    help = "Write the import template files (CSV and XLSX) from the importer's columns."

    def add_arguments(self, parser):
        parser.add_argument("--folder", default=str(Path(settings.BASE_DIR) / "static" / "import"))

    def handle(self, *args, folder, **options):
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        with translation.override("en"):
            (target / "casework-import-template.csv").write_bytes(template_csv())
            template_xlsx(target / "casework-import-template.xlsx")
        self.stdout.write(f"Wrote the import templates to {target}.")
