"""Importing people and cases from CSV/XLSX: preview, per-row errors, idempotence,
all-or-nothing, file checks, the audit trail. Every person here is fictional."""

import csv
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from audit.models import AuditEntry, AuditEvent
from casework import services
from casework.models import Accused, Case, Detainee, Event
from jobs.models import Job
from reports import importer, views
from reports.importer import KEYS

from . import factories as f
from .conftest import run_jobs

HEADER = [
    "reference",
    "province",
    "court",
    "status",
    "opened_on",
    "charges",
    "caseworker",
    "person_id",
    "name_latin",
    "name_khmer",
    "aliases",
    "sex",
    "birth_year",
    "home_province",
    "custody_status",
]
GOOD = [
    [
        "IMP-0001",
        "KH-2",
        "Battambang Provincial Court of First Instance",
        "charged",
        "2026-02-01",
        "Art. 453; Incitement to commit a felony",
        "caseworker",
        "",
        "Heng Sophal",
        "ហេង សុផល",
        "Heng Sophal; Sophal H.",
        "male",
        "1981",
        "Battambang",
        "pretrial_detention",
    ],
    [
        "IMP-0001",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "Ouk Channary",
        "អ៊ុក ចន្ទារី",
        "",
        "female",
        "1990",
        "KH-2",
        "released_on_bail",
    ],
    [
        "IMP-0002",
        "Phnom Penh",
        "",
        "Summoned",
        "2026-03-05",
        "Art. 305",
        "",
        "",
        "Heng Sophal",
        "ហេង សុផល",
        "",
        "",
        "1981",
        "",
        "",
    ],
]


def csv_file(rows, header=HEADER, name="import.csv", encoding="utf-8-sig") -> SimpleUploadedFile:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode(encoding), content_type="text/csv")


def xlsx_file(rows, header=HEADER, name="import.xlsx") -> SimpleUploadedFile:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def preview(client, upload):
    return client.post("/imports/", {"file": upload})


def confirm(client, response):
    """Confirm the preview, and let a worker run the import job it starts."""
    done = client.post("/imports/confirm/", {"sha256": response.context["sha256"]})
    run_jobs()
    return done


def snapshot():
    return (
        Case.objects.count(),
        Detainee.objects.count(),
        Accused.objects.count(),
        Event.objects.count(),
        list(Case.objects.values_list("reference", "status", "version")),
    )


@pytest.fixture
def reference_world(caseworker):
    return caseworker


# --- Preview, then commit --------------------------------------------------------------------


def test_preview_shows_what_would_happen_and_writes_nothing(admin_client_, reference_world):
    before = snapshot()
    response = preview(admin_client_, csv_file(GOOD))
    assert response.status_code == 200
    plan = response.context["plan"]
    assert plan.ok
    assert response.context["counts"] == {
        "cases_created": 2,
        "cases_updated": 0,
        "cases_unchanged": 0,
        "people_created": 2,
        "people_updated": 0,
        "people_unchanged": 0,
        "accused_added": 3,
    }
    texts = [(r.case_text, r.person_text, r.accused_text) for r in plan.rows]
    assert texts[0] == ("New case.", "New person.", "Added to the case.")
    assert texts[1][0] == "Same case as row 2."
    assert texts[2][1] == "Same person as row 2."  # same names and year of birth
    assert snapshot() == before
    body = response.content.decode()
    assert 'id="confirm-import"' in body and "Heng Sophal" in body


def test_confirm_writes_everything_with_the_admin_as_actor(
    admin_client_, admin_user, reference_world
):
    response = preview(admin_client_, csv_file(GOOD))
    done = confirm(admin_client_, response)
    job = Job.objects.get()
    assert done.status_code == 302 and done["Location"] == job.get_absolute_url()
    job.refresh_from_db()
    assert (job.kind, job.status, job.requested_by) == ("import", "done", admin_user)
    assert "rows" not in job.params  # the rows are not kept once imported
    page = admin_client_.get(done["Location"]).content.decode()
    assert "Imported import.csv: 2 cases opened" in page
    first = Case.objects.get(reference="IMP-0001")
    assert first.status == "charged" and first.province.code == "KH-2"
    assert first.caseworker.username == "caseworker" and first.opened_by == admin_user
    assert sorted(c.article for c in first.charges.all()) == ["Art. 453", "Art. 494-495"]
    sophal = Detainee.objects.get(name_latin="Heng Sophal")
    assert sophal.name_khmer == "ហេង សុផល" and sophal.birth_year == 1981
    assert sophal.alias_list == ["Sophal H."]
    assert set(sophal.cases.values_list("reference", flat=True)) == {"IMP-0001", "IMP-0002"}
    assert Accused.objects.get(case=first, detainee=sophal).custody_status == "pretrial_detention"
    second = Accused.objects.get(case__reference="IMP-0002")
    assert second.custody_status == "unknown"  # empty: unknown, never a guess
    # The model writes went through save(): django-auditlog recorded them, as the admin.
    changes = AuditEntry.objects.filter(event=AuditEvent.CHANGE, content_type__model="case")
    assert changes.count() >= 2 and {e.actor for e in changes} == {admin_user}
    imports = AuditEntry.objects.filter(event=AuditEvent.IMPORT).order_by("id")
    assert [e.additional_data["stage"] for e in imports] == ["preview", "commit"]
    commit = imports.last()
    assert commit.actor == admin_user and commit.object_repr == "import.csv"
    assert commit.additional_data["rows"] == 3 and commit.additional_data["cases_created"] == 2
    assert commit.additional_data["job"] == str(job.pk)
    assert len(commit.additional_data["sha256"]) == 64
    assert "reports.import" not in admin_client_.session


def test_importing_the_same_file_again_changes_nothing(admin_client_, reference_world):
    confirm(admin_client_, preview(admin_client_, csv_file(GOOD)))
    before = snapshot()
    changes = AuditEntry.objects.filter(event=AuditEvent.CHANGE).count()
    response = preview(admin_client_, csv_file(GOOD))
    plan = response.context["plan"]
    assert plan.ok and not plan.changes_anything
    assert 'id="import-nothing"' in response.content.decode()
    assert 'id="confirm-import"' not in response.content.decode()
    assert [r.accused_text for r in plan.rows] == ["Already in the case."] * 3
    # Even a forged confirm writes nothing: no preview was kept.
    assert confirm(admin_client_, response).status_code == 302
    assert snapshot() == before
    assert AuditEntry.objects.filter(event=AuditEvent.CHANGE).count() == changes


def test_the_same_file_as_xlsx_gives_the_same_result(admin_client_, reference_world):
    rows_csv = preview(admin_client_, csv_file(GOOD)).context["plan"]
    rows_xlsx = preview(admin_client_, xlsx_file(GOOD)).context["plan"]
    assert rows_xlsx.digest() == rows_csv.digest()
    confirm(admin_client_, preview(admin_client_, xlsx_file(GOOD)))
    assert Case.objects.filter(reference__startswith="IMP-").count() == 2
    assert not preview(admin_client_, csv_file(GOOD)).context["plan"].changes_anything


def test_xlsx_dates_and_numbers_are_read_as_typed(admin_client_, reference_world):
    import datetime as dt

    rows = [
        [
            "IMP-0003",
            "KH-2",
            "",
            "",
            dt.datetime(2026, 1, 9),
            "",
            "",
            "",
            "Meas Dara",
            "",
            "",
            "",
            1979,
            "",
            "",
        ]
    ]
    plan = preview(admin_client_, xlsx_file(rows)).context["plan"]
    assert plan.ok
    assert plan.cases["IMP-0003"].values["opened_on"][0] == dt.date(2026, 1, 9)


def test_changes_to_records_on_file_are_listed_then_written(admin_client_, caseworker):
    case = f.make_case("KH-2", reference="IMP-0100", caseworker=caseworker, status="summoned")
    person = f.make_detainee("Chea Pisey", birth_year=1970)
    f.add_accused(case, person, custody_status="pretrial_detention")
    rows = [
        [
            "IMP-0100",
            "",
            "",
            "charged",
            "",
            "Art. 453",
            "",
            "",
            "chea pisey",
            "ជា ពិសី",
            "Pisey Chea",
            "",
            "1971",
            "",
            "at_liberty",
        ]
    ]
    response = preview(admin_client_, csv_file(rows))
    plan = response.context["plan"]
    assert plan.ok
    row = plan.rows[0]
    assert "Case status: Summoned → Charged" in row.case_text
    assert "charges added: Plotting (Art. 453)" in row.case_text
    assert f"Person number {person.pk}, changed:" in row.person_text
    assert "Year of birth: 1970 → 1971" in row.person_text
    assert "aliases added: Pisey Chea" in row.person_text
    # Custody moves by dated events, not by spreadsheet: a note, not a change.
    assert "an import does not change it" in row.notes[0]
    confirm(admin_client_, response)
    case.refresh_from_db()
    person.refresh_from_db()
    # Two saves through the services: the details (case_update), then the status with
    # its dated event (case_change_status).
    assert case.status == "charged" and case.version == 3
    assert Event.objects.filter(case=case, kind="status_changed").count() == 1
    assert person.birth_year == 1971 and person.name_khmer == "ជា ពិសី" and person.version == 2
    assert person.alias_list == ["Pisey Chea"]
    assert Accused.objects.get(case=case, detainee=person).custody_status == "pretrial_detention"
    assert not preview(admin_client_, csv_file(rows)).context["plan"].changes_anything


def test_person_number_links_someone_already_on_file(admin_client_, own_case):
    person = own_case.accused.first().detainee
    rows = [
        [
            "IMP-0200",
            "KH-2",
            "",
            "",
            "",
            "",
            "",
            str(person.pk),
            "Sokha Vannak",
            "",
            "",
            "",
            "",
            "",
            "",
        ]
    ]
    response = preview(admin_client_, csv_file(rows))
    assert response.context["plan"].rows[0].person_text == f"Person number {person.pk}, unchanged."
    confirm(admin_client_, response)
    assert set(person.cases.values_list("reference", flat=True)) == {"BTB-0001", "IMP-0200"}
    assert Detainee.objects.filter(name_latin="Sokha Vannak").count() == 1


def test_a_namesake_on_file_is_pointed_out(admin_client_, own_case):
    rows = [["IMP-0201", "KH-2", "", "", "", "", "", "", "Sokha Vannak", "", "", "", "", "", ""]]
    row = preview(admin_client_, csv_file(rows)).context["plan"].rows[0]
    person = own_case.accused.first().detainee
    assert row.person_text == "New person."
    assert f"person number {person.pk}" in row.notes[0]


# --- Per-row errors: any bad row, nothing written ------------------------------------------


def test_each_bad_row_is_explained_and_nothing_can_be_committed(admin_client_, reference_world):
    before = snapshot()
    rows = [
        GOOD[0],
        ["IMP-0010", "Batambang", "", "", "", "", "", "", "Sam Rith", "", "", "", "", "", ""],
        [
            "IMP-0011",
            "KH-2",
            "",
            "locked up",
            "02/03/2026",
            "",
            "",
            "",
            "Sam Rith",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        [
            "IMP-0012",
            "KH-2",
            "Court of Nowhere",
            "",
            "",
            "Art. 999",
            "nobody",
            "",
            "",
            "",
            "",
            "x",
            "1850",
            "",
            "free",
        ],
        ["", "KH-2", "", "", "", "", "", "", "No Reference", "", "", "", "", "", ""],
        ["IMP-0013", "", "", "", "", "", "", "999999", "Somebody", "", "", "", "", "", ""],
        ["EXAMPLE-0001", "KH-2", "", "", "", "", "", "", "Example Person", "", "", "", "", "", ""],
        ["IMP-0001", "KH-6", "", "", "", "", "", "", "Keo Dara", "", "", "", "", "", ""],
    ]
    response = preview(admin_client_, csv_file(rows))
    plan = response.context["plan"]
    assert not plan.ok and plan.rows_with_errors == 7
    errors = {r.number: " | ".join(r.errors) for r in plan.rows}
    assert errors[2] == ""
    assert "“Batambang” is not a province Casework knows" in errors[3]
    assert "“locked up” is not one Casework knows" in errors[4]
    assert "“02/03/2026” is not a date written as YYYY-MM-DD" in errors[4]
    assert "Court “Court of Nowhere”" in errors[5] and "Charge “Art. 999”" in errors[5]
    assert "“nobody” is not the user name of an active caseworker" in errors[5]
    assert "The name in Latin script is empty" in errors[5]
    assert "Year of birth “1850”" in errors[5] and "“free” is not one" in errors[5]
    assert "The NGO reference is empty" in errors[6]
    assert "There is no person number 999999" in errors[7]
    assert "A new case needs its province" in errors[7]
    assert "the template's example row" in errors[8]
    assert "Province of case IMP-0001 is “Kampong Thom” here but “Battambang” on row 2" in errors[9]
    body = response.content.decode()
    assert 'id="import-errors"' in body and 'id="confirm-import"' not in body
    assert "reports.import" not in admin_client_.session
    assert confirm(admin_client_, response).status_code == 302
    assert snapshot() == before
    entry = AuditEntry.objects.get(event=AuditEvent.IMPORT)
    assert entry.additional_data["errors"] == plan.error_count


def test_a_person_number_with_another_name_is_refused(admin_client_, own_case):
    person = own_case.accused.first().detainee
    rows = [
        [
            "IMP-0300",
            "KH-2",
            "",
            "",
            "",
            "",
            "",
            str(person.pk),
            "Somebody Else",
            "",
            "",
            "",
            "",
            "",
            "",
        ]
    ]
    row = preview(admin_client_, csv_file(rows)).context["plan"].rows[0]
    assert (
        f"Person number {person.pk} is “Sokha Vannak” on file, not “Somebody Else”" in row.errors[0]
    )


def test_a_caseworker_outside_the_province_is_refused(admin_client_, caseworker):
    rows = [
        [
            "IMP-0400",
            "KH-12",
            "",
            "",
            "",
            "",
            "caseworker",
            "",
            "Pich Sopheap",
            "",
            "",
            "",
            "",
            "",
            "",
        ]
    ]
    row = preview(admin_client_, csv_file(rows)).context["plan"].rows[0]
    assert "caseworker does not work in Phnom Penh" in row.errors[0]


def test_the_same_person_twice_in_a_case_is_refused(admin_client_, reference_world):
    rows = [GOOD[0], GOOD[0]]
    row = preview(admin_client_, csv_file(rows)).context["plan"].rows[1]
    assert "Row 2 already puts this person in case IMP-0001" in row.errors[0]


def test_nothing_is_written_when_the_records_changed_after_the_preview(admin_client_, caseworker):
    rows = [["IMP-0500", "KH-2", "", "", "", "", "", "", "Nhem Dara", "", "", "", "", "", ""]]
    response = preview(admin_client_, csv_file(rows))
    f.make_case("KH-2", reference="IMP-0500", caseworker=caseworker)  # someone else, meanwhile
    before = snapshot()
    again = confirm(admin_client_, response)
    job = Job.objects.get()
    assert again["Location"] == job.get_absolute_url()
    job.refresh_from_db()
    assert job.status == "failed" and "records changed since the preview" in job.error
    assert "Upload the file again" in admin_client_.get(again["Location"]).content.decode()
    assert snapshot() == before
    refused = AuditEntry.objects.filter(event=AuditEvent.IMPORT).latest("id")
    assert refused.additional_data["refused"] == "records changed since the preview"
    assert AuditEntry.objects.filter(additional_data__outcome="failed").count() == 0


def test_a_failure_half_way_leaves_nothing_written(admin_client_, reference_world, monkeypatch):
    response = preview(admin_client_, csv_file(GOOD))
    before = snapshot()
    audits = AuditEntry.objects.count()
    calls = []

    def fail_on_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return original(*args, **kwargs)

    original = services.accused_add
    monkeypatch.setattr(services, "accused_add", fail_on_second)
    confirm(admin_client_, response)
    assert Job.objects.get().status == "failed"
    assert snapshot() == before
    # Not even the change entries: only the job's failure is on record.
    assert AuditEntry.objects.count() == audits + 1
    failed = AuditEntry.objects.latest("id")
    assert failed.event == AuditEvent.IMPORT and failed.additional_data["outcome"] == "failed"


def test_an_expired_or_replaced_preview_is_refused(admin_client_, reference_world):
    response = preview(admin_client_, csv_file(GOOD))
    session = admin_client_.session
    session["reports.import"]["at"] = "2000-01-01T00:00:00+00:00"
    session.save()
    done = confirm(admin_client_, response)
    assert done.status_code == 302
    assert not Case.objects.filter(reference="IMP-0001").exists()
    response = preview(admin_client_, csv_file(GOOD))
    assert admin_client_.post("/imports/confirm/", {"sha256": "0" * 64}).status_code == 302
    assert not Case.objects.filter(reference="IMP-0001").exists()


def test_cancel_forgets_the_preview(admin_client_, reference_world):
    preview(admin_client_, csv_file(GOOD))
    assert "reports.import" in admin_client_.session
    admin_client_.post("/imports/confirm/", {"cancel": "1"})
    assert "reports.import" not in admin_client_.session
    assert not Case.objects.filter(reference="IMP-0001").exists()


# --- The file itself ----------------------------------------------------------------------


def file_error(response) -> str:
    return " ".join(response.context["form"].errors.get("file", []))


def test_wrong_extension_is_refused(admin_client_, db):
    response = preview(admin_client_, SimpleUploadedFile("people.txt", b"reference,name_latin\n"))
    assert response.status_code == 400
    assert "is not a CSV or XLSX file" in file_error(response)


def test_a_file_named_xlsx_that_is_not_a_workbook_is_refused(admin_client_, db):
    response = preview(admin_client_, SimpleUploadedFile("people.xlsx", b"reference,name_latin\n"))
    assert response.status_code == 400
    assert "This is not an Excel workbook" in file_error(response)


def test_a_damaged_workbook_is_refused(admin_client_, db):
    response = preview(admin_client_, SimpleUploadedFile("people.xlsx", b"PK\x03\x04broken"))
    assert "The workbook cannot be opened" in file_error(response)


def test_a_csv_not_in_utf8_is_refused_with_how_to_fix_it(admin_client_, db):
    upload = csv_file(
        [["IMP-1", "KH-2", "", "", "", "", "", "", "Café Owner", "", "", "", "", "", ""]],
        encoding="cp1252",
    )
    upload.file = io.BytesIO(upload.read().replace(b"\xef\xbb\xbf", b"") + b"\xe9\xff")
    upload.size = len(upload.file.getvalue())
    response = preview(admin_client_, upload)
    assert "is not in UTF-8" in file_error(response) and "CSV UTF-8" in file_error(response)


def test_unknown_and_missing_columns_are_named(admin_client_, db):
    response = preview(admin_client_, csv_file([["X", "Y"]], header=["refernce", "name_latin"]))
    assert "“refernce”" in file_error(response)
    response = preview(admin_client_, csv_file([["X"]], header=["name_latin"]))
    assert "The file needs these columns: reference" in file_error(response)


def test_an_empty_file_or_header_only_is_refused(admin_client_, db):
    assert "empty" in file_error(preview(admin_client_, SimpleUploadedFile("a.csv", b"")))
    response = preview(admin_client_, csv_file([]))
    assert "no data rows" in file_error(response)


def test_an_oversized_file_is_refused_before_it_is_read(admin_client_, db, monkeypatch):
    monkeypatch.setattr(views, "IMPORT_MAX_BYTES", 1000)
    monkeypatch.setattr(views, "UPLOAD_OVERHEAD", 100)
    big = csv_file([["IMP-1", "KH-2"] + [""] * 6 + ["x" * 2000] + [""] * 6])
    response = preview(admin_client_, big)
    assert response.status_code == 413
    assert "larger than" in file_error(response)
    assert not AuditEntry.objects.filter(event=AuditEvent.IMPORT).exists()


def test_the_form_checks_the_size_too(db):
    from reports.forms import IMPORT_MAX_BYTES, ImportUploadForm

    upload = SimpleUploadedFile("big.csv", b"x" * (IMPORT_MAX_BYTES + 1))
    form = ImportUploadForm(files={"file": upload})
    assert not form.is_valid() and "the limit is 5.0" in form.errors["file"][0]


def test_too_many_rows_are_refused(admin_client_, db, monkeypatch):
    monkeypatch.setattr(importer.reading, "MAX_ROWS", 2)
    response = preview(admin_client_, csv_file(GOOD))
    assert "more than 2 rows" in file_error(response)


def test_semicolon_separated_csv_is_read(admin_client_, reference_world):
    text = "reference;province;name_latin\nIMP-0700;KH-2;Sok Lina\n"
    response = preview(admin_client_, SimpleUploadedFile("excel-fr.csv", text.encode()))
    assert response.context["plan"].ok


# --- Who may import; the template file ---------------------------------------------------


@pytest.mark.parametrize("who", ["coordinator_client", "caseworker_client"])
def test_non_admins_get_403(request, db, who):
    client = request.getfixturevalue(who)
    assert client.get("/imports/").status_code == 403
    assert client.post("/imports/", {"file": csv_file(GOOD)}).status_code == 403
    assert client.post("/imports/confirm/", {"sha256": "x"}).status_code == 403
    assert not Case.objects.filter(reference="IMP-0001").exists()


def test_page_links_the_templates_which_match_the_columns(admin_client_, db):
    body = admin_client_.get("/imports/").content.decode()
    assert "/static/import/casework-import-template.csv" in body
    assert "/static/import/casework-import-template.xlsx" in body
    folder = Path(settings.BASE_DIR) / "static" / "import"
    raw = (folder / "casework-import-template.csv").read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == KEYS
    sheet = load_workbook(folder / "casework-import-template.xlsx").worksheets[0]
    assert [c.value for c in sheet[1]] == KEYS


def test_the_template_as_shipped_imports_nothing(admin_client_, db):
    folder = Path(settings.BASE_DIR) / "static" / "import"
    data = (folder / "casework-import-template.csv").read_bytes()
    plan = preview(admin_client_, SimpleUploadedFile("template.csv", data)).context["plan"]
    assert not plan.ok
    assert "the template's example row" in plan.rows[0].errors[0]


def test_upload_and_confirm_still_need_the_csrf_token(admin_client_, reference_world):
    """The upload view checks CSRF itself, after the size check (see reports/views.py)."""
    admin_client_.handler.enforce_csrf_checks = True
    assert preview(admin_client_, csv_file(GOOD)).status_code == 403
    assert admin_client_.post("/imports/confirm/", {"sha256": "x"}).status_code == 403
    assert not AuditEntry.objects.filter(event=AuditEvent.IMPORT).exists()
    page = admin_client_.get("/imports/")
    token = page.context["csrf_token"]
    response = admin_client_.post(
        "/imports/", {"file": csv_file(GOOD), "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 200 and response.context["plan"].ok
