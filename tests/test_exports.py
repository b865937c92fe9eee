"""CSV and XLSX exports of the case and people lists, and the person's dossier (PDF).

Each export is parsed back and compared with the list page for the same
filters and with the database. Every person here is fictional.
"""

import csv
import datetime as dt
import io
import shutil
import subprocess

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from openpyxl import load_workbook

from audit.models import AuditEntry, AuditEvent
from casework.models import Case, Detainee, Event
from reports import exports
from reports.pseudonyms import pseudonym
from reports.spreadsheet import safe_text

from . import factories as f

# poppler-utils: reading the PDFs back is how these tests check them.
PDFTOTEXT = shutil.which("pdftotext") or "/usr/bin/pdftotext"

SENSITIVE = [
    "Sister, 012 000 111",
    "Hiding at the pagoda in Prey Veng",
    "Private note about health",
]


@pytest.fixture
def world(own_case, other_case, far_case, caseworker):
    """The three persona cases plus a charged Phnom Penh case with two accused and a
    person with a hostile name, so formulas and Khmer both go through the exports."""
    person = own_case.accused.first().detainee
    person.whereabouts = SENSITIVE[1]
    person.notes = SENSITIVE[2]
    person.aliases = "Sokha V.\nSok Vannak"
    person.birth_date = dt.date(1990, 4, 17)
    person.save()
    own_case.charges.set([f.charge_pk(1), f.charge_pk(2)])
    hostile = f.make_case(
        "KH-12", reference="PNH-0002", status="charged", title="=cmd|' /C calc'!A0"
    )
    f.add_accused(hostile, f.make_detainee('=HYPERLINK("http://x")', name_khmer="ស៊ុន ចាន់"))
    f.add_accused(
        hostile, f.make_detainee("+Plus Minus", occupation="-farmer", former_role="@role")
    )
    hostile.charges.set([f.charge_pk(3)])
    return {"own": own_case, "other": other_case, "far": far_case, "hostile": hostile}


def read_csv(response) -> list[dict]:
    assert response.streaming, "CSV exports stream"
    raw = b"".join(response.streaming_content)
    assert raw.startswith("\ufeff".encode()), "UTF-8 byte-order mark, so Excel reads Khmer"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def read_xlsx(response) -> list[dict]:
    raw = b"".join(response.streaming_content)
    sheet = load_workbook(io.BytesIO(raw), read_only=True).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = rows[0]
    return [
        dict(zip(header, ["" if v is None else v for v in row], strict=False)) for row in rows[1:]
    ]


def body_text(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8-sig")
    return response.content.decode()


CASE_FILTERS = [
    "",
    "province=KH-2",
    "province=KH-12&status=charged",
    "q=Sokha",
    "q=ចន្ធី",
    "sort=reference",
    "sort=-opened",
    "no_lawyer=on",
    "hearing_within=3",
    "limit=near",
    "custody=pretrial_detention",
]


@pytest.mark.parametrize("query", CASE_FILTERS)
def test_case_csv_has_exactly_the_list_rows_in_order(admin_client_, world, query):
    page = admin_client_.get(f"/cases/?{query}").context["page"]
    listed = [case.reference for case in page.object_list]
    rows = read_csv(admin_client_.get(f"/cases/export.csv?{query}"))
    exported = [row["NGO reference"] for row in rows]
    assert len(rows) == page.paginator.count
    if query == "sort=-opened":
        # Every case here was opened today: the list leaves ties in any order, the
        # export breaks them by record number. Same rows, dates in the same order.
        assert sorted(exported) == sorted(listed)
        dates = [row["Opened on"] for row in rows]
        assert dates == sorted(dates, reverse=True)
    else:
        assert exported == listed


def test_ties_in_the_chosen_sort_come_out_in_the_same_order_every_time(admin_client_, world):
    first = read_csv(admin_client_.get("/cases/export.csv?sort=-opened"))
    # The list's own tie-break (newest record first, as the unsorted list).
    cases = Case.objects.order_by("-opened_on", "-pk").values_list("reference", flat=True)
    assert [row["NGO reference"] for row in first] == list(cases)


@pytest.mark.parametrize("query", ["", "province=KH-2", "q=Sokha", "sort=-reference"])
def test_case_xlsx_has_the_same_rows_and_values_as_the_csv(admin_client_, world, query):
    from_csv = read_csv(admin_client_.get(f"/cases/export.csv?{query}"))
    from_xlsx = read_xlsx(admin_client_.get(f"/cases/export.xlsx?{query}"))
    assert [r["NGO reference"] for r in from_xlsx] == [r["NGO reference"] for r in from_csv]
    for a, b in zip(from_csv, from_xlsx, strict=True):
        assert a["Accused"] == b["Accused"] and a["Charges"] == b["Charges"]
        assert a["Province"] == b["Province"] and a["Case status"] == b["Case status"]


def test_case_export_columns_match_the_database(admin_client_, world):
    rows = {r["NGO reference"]: r for r in read_csv(admin_client_.get("/cases/export.csv"))}
    own = rows["BTB-0001"]
    assert own["Accused"] == "Sokha Vannak (សុខា វណ្ណៈ)"
    assert own["Number of accused"] == "1" and own["Accused in custody"] == "1"
    assert own["Province"] == "Battambang" and own["Province code"] == "KH-2"
    assert own["Caseworker"] == "caseworker"
    assert own["Someone near or past the legal limit"] == "no"
    # The clock row (issue 13, point 9): person, limit and article, days held, days left,
    # runs out, ceiling.
    period = world["own"].custody_periods.get()
    clock = own["Legal clocks running"]
    assert clock.startswith("Sokha Vannak (សុខា វណ្ណៈ): Pre-trial detention, felony (adult)")
    assert "(Art. 208)" in clock and f"Held {period.days_held} days" in clock
    assert f"{period.days_left} days left" in clock
    assert "Ceiling: 18 months at most" in clock
    case = world["own"]
    expected_charges = [f"{c.article} {c.name_en}" for c in case.charges.order_by("article")]
    assert own["Charges"] == "; ".join(expected_charges)
    assert own["Opened on"] == case.opened_on.isoformat()
    assert own["Next hearing"], "the list's next hearing is exported too"
    hostile = rows["PNH-0002"]
    assert hostile["Number of accused"] == "2" and hostile["Case status"] == "Charged"


def test_province_filter_gives_the_database_rows(admin_client_, world):
    rows = read_csv(admin_client_.get("/cases/export.csv?province=KH-2"))
    expected = set(Case.objects.filter(province__code="KH-2").values_list("reference", flat=True))
    assert {r["NGO reference"] for r in rows} == expected == {"BTB-0001", "BTB-0002"}


@pytest.mark.parametrize(
    "query",
    ["", "province=KH-2", "q=sokha", "sex=male", "custody=pretrial_detention", "sort=-name"],
)
def test_people_csv_has_exactly_the_list_rows(admin_client_, world, query):
    page = admin_client_.get(f"/detainees/?{query}").context["page"]
    rows = read_csv(admin_client_.get(f"/detainees/export.csv?{query}"))
    assert [int(r["Person number"]) for r in rows] == [p.pk for p in page.object_list]
    for row, person in zip(rows, page.object_list, strict=True):
        assert row["Name (Latin script)"] == safe_text(person.name_latin)
        assert int(row["Number of cases"]) == person.case_count


def test_people_xlsx_matches_the_list(admin_client_, world):
    page = admin_client_.get("/detainees/").context["page"]
    rows = read_xlsx(admin_client_.get("/detainees/export.xlsx"))
    assert [r["Person number"] for r in rows] == [p.pk for p in page.object_list]
    sokha = next(r for r in rows if r["Name (Latin script)"] == "Sokha Vannak")
    assert sokha["Name (Khmer script)"] == "សុខា វណ្ណៈ"
    assert sokha["Cases"] == "BTB-0001" and sokha["Custody status"] == "In pre-trial detention"
    assert sokha["Other spellings and aliases"] == "Sokha V.; Sok Vannak"


def test_exports_read_in_several_chunks_give_the_same_rows(admin_client_, world, monkeypatch):
    whole = read_csv(admin_client_.get("/cases/export.csv"))
    people = read_csv(admin_client_.get("/detainees/export.csv"))
    monkeypatch.setattr(exports, "CHUNK", 2)
    assert read_csv(admin_client_.get("/cases/export.csv")) == whole
    assert read_csv(admin_client_.get("/detainees/export.csv")) == people


# --- What an export never holds ---------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/cases/export.csv",
        "/cases/export.xlsx",
        "/detainees/export.csv",
        "/detainees/export.xlsx",
        "/cases/export.csv?anonymised=1",
        "/detainees/export.xlsx?anonymised=1",
    ],
)
def test_sensitive_fields_and_notes_are_never_exported(admin_client_, world, url):
    response = admin_client_.get(url)
    if url.endswith("xlsx") or ".xlsx?" in url:
        text = " ".join(str(v) for row in read_xlsx(response) for v in row.values())
    else:
        text = body_text(response)
    for secret in SENSITIVE:
        assert secret not in text, (url, secret)


def _names_of_everyone() -> list[str]:
    names = []
    for person in Detainee.objects.all():
        names += [person.name_latin, person.name_khmer, *person.alias_list]
    for case in Case.objects.all():
        names += [case.reference] + ([case.title] if case.title else [])
    return [n for n in names if n]


@pytest.mark.parametrize(
    "url",
    [
        "/cases/export.csv?anonymised=1",
        "/cases/export.xlsx?anonymised=1",
        "/detainees/export.csv?anonymised=1",
        "/detainees/export.xlsx?anonymised=1",
    ],
)
def test_anonymised_exports_contain_no_name_of_the_dataset(admin_client_, world, url):
    response = admin_client_.get(url)
    if "xlsx" in url:
        rows = read_xlsx(response)
        text = "\n".join(" ".join(str(v) for v in row.values()) for row in rows)
    else:
        text = body_text(response)
    for name in _names_of_everyone() + ["caseworker", "1990-04-17", "Sister"]:
        assert name not in text, (url, name)
    assert "P-" in text


def test_anonymised_ids_are_stable_pseudonyms(admin_client_, world):
    first = read_csv(admin_client_.get("/detainees/export.csv?anonymised=1"))
    second = read_csv(admin_client_.get("/detainees/export.csv?anonymised=1"))
    assert first == second
    expected = {pseudonym("detainee", pk) for pk in Detainee.objects.values_list("pk", flat=True)}
    assert {row["Person (pseudonym)"] for row in first} == expected
    cases = read_csv(admin_client_.get("/cases/export.csv?anonymised=1"))
    # The people of a case carry the same pseudonyms in both exports: the files join.
    case_people = {p for row in cases for p in row["Accused (pseudonyms)"].split("; ") if p}
    assert case_people == expected
    person_cases = {c for row in first for c in row["Cases (pseudonyms)"].split("; ") if c}
    assert person_cases == {row["Case (pseudonym)"] for row in cases}


def test_pseudonyms_are_keyed_hmacs_not_plain_hashes(settings):
    before = pseudonym("detainee", 1)
    assert before.startswith("P-") and len(before) == 14
    settings.SECRET_KEY = "another-key-for-this-test-only"
    assert pseudonym("detainee", 1) != before
    assert pseudonym("detainee", 1) != pseudonym("case", 1)


# --- Safe to open -----------------------------------------------------------------


def test_csv_cells_that_would_run_as_formulas_are_quoted(admin_client_, world):
    cases = {r["NGO reference"]: r for r in read_csv(admin_client_.get("/cases/export.csv"))}
    assert cases["PNH-0002"]["Short title"] == "'=cmd|' /C calc'!A0"
    assert cases["PNH-0002"]["Accused"].startswith("'")  # "=HYPERLINK(...)" comes first
    people = read_csv(admin_client_.get("/detainees/export.csv"))
    by_name = {r["Name (Latin script)"]: r for r in people}
    assert '\'=HYPERLINK("http://x")' in by_name
    plus = by_name["'+Plus Minus"]
    assert plus["Occupation"] == "'-farmer" and plus["Former role"] == "'@role"
    for row in people:
        for value in row.values():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), value
            assert not value.startswith("-") or value[1:2].isdigit() is False


def test_xlsx_cells_are_text_never_formulas(admin_client_, world):
    raw = b"".join(admin_client_.get("/detainees/export.xlsx").streaming_content)
    sheet = load_workbook(io.BytesIO(raw)).worksheets[0]
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.value
    names = [row[1].value for row in sheet.iter_rows(min_row=2)]
    assert '\'=HYPERLINK("http://x")' in names


def test_csv_keeps_khmer_intact(admin_client_, world):
    rows = read_csv(admin_client_.get("/detainees/export.csv"))
    assert "ស៊ុន ចាន់" in {r["Name (Khmer script)"] for r in rows}


# --- Who may export, and the audit log ----------------------------------------------

EXPORTS = [
    "/cases/export.csv",
    "/cases/export.xlsx",
    "/detainees/export.csv",
    "/detainees/export.xlsx",
]


@pytest.mark.parametrize("who", ["coordinator_client", "caseworker_client"])
@pytest.mark.parametrize("url", EXPORTS + ["/reports/report.pdf"])
def test_non_admins_get_403_for_every_export(request, world, who, url):
    client = request.getfixturevalue(who)
    assert client.get(url).status_code == 403
    assert client.get(url + "?anonymised=1").status_code == 403
    assert not AuditEntry.objects.filter(event=AuditEvent.EXPORT).exists()


@pytest.mark.parametrize(
    "url, fmt, model",
    [
        ("/cases/export.csv", "csv", "case"),
        ("/cases/export.xlsx", "xlsx", "case"),
        ("/detainees/export.csv", "csv", "detainee"),
        ("/detainees/export.xlsx", "xlsx", "detainee"),
    ],
)
def test_every_export_is_audited_with_format_filters_rows(
    admin_client_, admin_user, world, url, fmt, model
):
    query = "province=KH-2&sort=-reference" if model == "case" else "q=sokha"
    response = admin_client_.get(f"{url}?{query}&anonymised=1&page=3")
    rows = read_csv(response) if fmt == "csv" else read_xlsx(response)
    entry = AuditEntry.objects.filter(event=AuditEvent.EXPORT).latest("id")
    assert entry.actor == admin_user
    assert entry.content_type.model == model
    expected_filters = {"q": "sokha"}
    if model == "case":
        expected_filters = {"province": "KH-2", "sort": "-reference"}
    expected = {"format": fmt, "filters": expected_filters, "rows": len(rows), "anonymised": True}
    if fmt == "csv":
        # Recorded before the first byte, then again when the whole stream was sent.
        started = AuditEntry.objects.filter(event=AuditEvent.EXPORT).earliest("id")
        assert started.additional_data == {**expected, "outcome": "started"}
        assert entry.additional_data == {
            **expected,
            "outcome": "complete",
            "expected": len(rows),
            "started": started.pk,
        }
    else:
        assert entry.additional_data == expected
    assert len(rows) > 0


def test_audit_entry_is_written_before_the_csv_is_read(admin_client_, world):
    """Even a download stopped after the first byte is on record."""
    response = admin_client_.get("/cases/export.csv")
    assert AuditEntry.objects.filter(event=AuditEvent.EXPORT).count() == 1
    started = AuditEntry.objects.get(event=AuditEvent.EXPORT).additional_data
    assert (started["rows"], started["outcome"]) == (4, "started")
    server_closes(response)  # the reader left before the first byte
    ended = AuditEntry.objects.filter(event=AuditEvent.EXPORT).latest("id").additional_data
    assert (ended["outcome"], ended["rows"], ended["expected"]) == ("incomplete", 0, 4)


def server_closes(response):
    """What the WSGI server's call of ``response.close()`` does to the stream, without
    the end-of-request signal that closes the test's own database connection."""
    for closer in response._resource_closers:
        closer()


def _many_cases(caseworker, count):
    for n in range(count):
        f.make_case("KH-2", caseworker=caseworker, reference=f"CUT-{n:04d}")


def test_a_download_cut_off_mid_stream_is_recorded_with_the_rows_sent(
    admin_client_, caseworker, monkeypatch
):
    """The reader goes away after the first piece: the server closes the response."""
    from reports import spreadsheet

    monkeypatch.setattr(spreadsheet, "FLUSH_EVERY", 5)
    _many_cases(caseworker, 12)
    response = admin_client_.get("/cases/export.csv")
    pieces = iter(response.streaming_content)
    first = next(pieces)
    assert first.decode("utf-8-sig").count("CUT-") == 5
    next(pieces)  # asked for the second piece: the first was sent
    server_closes(response)  # ...and the reader is gone

    ended = AuditEntry.objects.filter(event=AuditEvent.EXPORT).latest("id").additional_data
    assert ended["outcome"] == "incomplete"
    assert ended["rows"] == 5
    assert ended["expected"] == 12


def test_an_export_whose_database_fails_mid_stream_is_recorded_incomplete(
    admin_client_, caseworker, monkeypatch
):
    from django.db import OperationalError

    from reports import spreadsheet

    monkeypatch.setattr(spreadsheet, "FLUSH_EVERY", 4)
    _many_cases(caseworker, 10)
    original = exports.case_rows

    def failing_rows(queryset, **kwargs):
        for n, row in enumerate(original(queryset, **kwargs)):
            if n == 9:
                raise OperationalError("server closed the connection unexpectedly")
            yield row

    monkeypatch.setattr(exports, "case_rows", failing_rows)
    response = admin_client_.get("/cases/export.csv")
    with pytest.raises(OperationalError):
        b"".join(response.streaming_content)

    ended = AuditEntry.objects.filter(event=AuditEvent.EXPORT).latest("id").additional_data
    assert ended["outcome"] == "incomplete"
    assert ended["rows"] == 8  # two pieces of four were sent before the failure
    assert ended["expected"] == 10


def test_an_xlsx_export_whose_database_fails_mid_way_is_recorded_incomplete(
    admin_client_, caseworker, monkeypatch
):
    """Made whole before it is sent: cut off at row 7 of 10, nothing reaches the reader,
    and the entry says so (never "complete" with the rows it meant to hold)."""
    from django.db import OperationalError

    _many_cases(caseworker, 10)
    original = exports.case_rows

    def failing_rows(queryset, **kwargs):
        for n, row in enumerate(original(queryset, **kwargs)):
            if n == 6:
                raise OperationalError("server closed the connection unexpectedly")
            yield row

    monkeypatch.setattr(exports, "case_rows", failing_rows)
    admin_client_.raise_request_exception = False  # the server's answer: the 503 page
    response = admin_client_.get("/cases/export.xlsx")
    assert response.status_code == 503
    ended = AuditEntry.objects.filter(event=AuditEvent.EXPORT).latest("id").additional_data
    assert (ended["outcome"], ended["rows"], ended["expected"]) == ("incomplete", 0, 10)
    assert ended["read"] == 6 and ended["format"] == "xlsx"
    assert AuditEntry.objects.filter(event=AuditEvent.EXPORT).count() == 1


@pytest.mark.parametrize(
    "query, field",
    [
        ("province=XX", "province"),
        ("status=locked-up", "status"),
        ("hearing_within=soon", "hearing_within"),
        ("opened_after=yesterday", "opened_after"),
        ("caseworker=999999", "caseworker"),
        ("anonymised=yes-please", "anonymised"),
    ],
)
def test_a_filter_not_understood_is_a_400_with_the_field_error(admin_client_, world, query, field):
    for url in ("/cases/export.csv", "/cases/export.xlsx"):
        response = admin_client_.get(f"{url}?{query}")
        assert response.status_code == 400, url
        assert f"<code>{field}</code>" in response.content.decode()
    assert not AuditEntry.objects.filter(event=AuditEvent.EXPORT).exists()


def test_people_filter_not_understood_is_a_400(admin_client_, world):
    response = admin_client_.get("/detainees/export.csv?custody=free-as-a-bird")
    assert response.status_code == 400
    assert "<code>custody</code>" in response.content.decode()


def test_export_responses_are_not_cached(admin_client_, world):
    for url in EXPORTS:
        response = admin_client_.get(url)
        assert "no-store" in response["Cache-Control"], url
        assert "attachment" in response["Content-Disposition"], url


# --- Constant queries -----------------------------------------------------------------


def _populate(caseworker, n: int):
    lawyer = f.make_lawyer()
    for _ in range(n):
        case = f.make_case("KH-2", caseworker=caseworker)
        accused = f.add_accused(case, custody_status="pretrial_detention")
        f.add_accused(case)
        f.hold(accused, days_ago=170)
        f.make_hearing(case, days_from_now=2, lawyer=lawyer)
        f.represent(lawyer, accused)
        case.charges.set([f.charge_pk(1), f.charge_pk(2)])


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        assert response.status_code == 200, url
        b"".join(response.streaming_content) if response.streaming else response.content
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", EXPORTS + [e + "?anonymised=1&province=KH-2" for e in EXPORTS])
def test_export_queries_do_not_grow_with_rows(admin_client_, caseworker, url):
    _populate(caseworker, 1)
    few = _queries(admin_client_, url)
    _populate(caseworker, 29)
    assert _queries(admin_client_, url) == few, url


# The queries of a case export, pinned: the session, the user and their second factor;
# the row count (past EXPORT_JOB_ROWS a background job makes the file); the audit entry
# (a savepoint, on SQLite the head of the chain it links to, the entry, the release)
# and, for CSV, a second entry when the stream ends; the flagged cases and the cases;
# then the accused, charges, next hearings and running legal clocks of each chunk of
# cases (four a chunk).
# PostgreSQL links entries at commit (audit/linking.py), so it reads no head: one
# query less an entry.
CASE_EXPORT_QUERIES = {"/cases/export.csv": 18, "/cases/export.xlsx": 14}
AUDIT_ENTRIES = {"/cases/export.csv": 2, "/cases/export.xlsx": 1}


def _case_export_queries(url: str) -> int:
    return CASE_EXPORT_QUERIES[url] - AUDIT_ENTRIES[url] * (connection.vendor == "postgresql")


@pytest.mark.parametrize("url", list(CASE_EXPORT_QUERIES))
@pytest.mark.parametrize("anonymised", ["", "?anonymised=1"])
def test_case_export_queries_are_pinned_and_four_per_chunk(
    admin_client_, caseworker, monkeypatch, url, anonymised
):
    _populate(caseworker, 5)
    assert _queries(admin_client_, url + anonymised) == _case_export_queries(url)
    _populate(caseworker, 25)
    assert _queries(admin_client_, url + anonymised) == _case_export_queries(url)
    monkeypatch.setattr(exports, "CHUNK", 10)  # 30 cases: three chunks
    assert _queries(admin_client_, url + anonymised) == _case_export_queries(url) + 2 * 4


def test_next_hearing_and_limit_flag_are_the_lists(admin_client_, caseworker):
    """Worked out per chunk of cases, they are still what the list shows for each case:
    the first hearing from now that is not cancelled, and whether anyone's custody is
    near or past the legal limit."""
    hearings = f.make_case("KH-2", reference="H-1")
    f.make_hearing(hearings, days_from_now=-2)  # past
    f.make_hearing(hearings, days_from_now=1, status="cancelled")
    f.make_hearing(hearings, days_from_now=9)
    soon = f.make_hearing(hearings, days_from_now=4)
    only_cancelled = f.make_case("KH-2", reference="H-2")
    f.make_hearing(only_cancelled, days_from_now=3, status="cancelled")
    held_long = f.make_case("KH-2", reference="L-1")
    f.hold(f.add_accused(held_long, custody_status="pretrial_detention"), days_ago=175)
    f.add_accused(held_long)
    held_briefly = f.make_case("KH-2", reference="L-2")
    f.hold(f.add_accused(held_briefly, custody_status="pretrial_detention"), days_ago=5)
    released = f.make_case("KH-2", reference="L-3")
    period = f.hold(f.add_accused(released), days_ago=400)
    period.ended_at = timezone.now() - dt.timedelta(days=30)
    period.save()

    listed = {case.reference: case for case in admin_client_.get("/cases/").context["page"]}
    exported = {r["NGO reference"]: r for r in read_csv(admin_client_.get("/cases/export.csv"))}
    xlsx = {r["NGO reference"]: r for r in read_xlsx(admin_client_.get("/cases/export.xlsx"))}
    assert set(exported) == set(listed) == set(xlsx)
    for reference, case in listed.items():
        row = exported[reference]
        expected = ""
        if case.next_hearing:
            expected = timezone.localtime(case.next_hearing).strftime("%Y-%m-%d %H:%M")
        assert row["Next hearing"] == expected, reference
        assert row["Someone near or past the legal limit"] == ("yes" if case.flagged else "no")
        assert (
            xlsx[reference]["Someone near or past the legal limit"]
            == row["Someone near or past the legal limit"]
        )
    local = timezone.localtime(soon.scheduled_at)
    assert exported["H-1"]["Next hearing"] == local.strftime("%Y-%m-%d %H:%M")
    assert xlsx["H-1"]["Next hearing"] == local.replace(tzinfo=None, microsecond=0)
    assert exported["H-2"]["Next hearing"] == "" and xlsx["H-2"]["Next hearing"] == ""
    flags = {ref: exported[ref]["Someone near or past the legal limit"] for ref in exported}
    assert (flags["L-1"], flags["L-2"], flags["L-3"]) == ("yes", "no", "no")


def test_last_update_is_local_time_in_csv_and_xlsx(admin_client_, world):
    case = world["own"]
    case.refresh_from_db()
    local = timezone.localtime(case.updated_at)
    csv_row = next(
        r
        for r in read_csv(admin_client_.get("/cases/export.csv"))
        if r["NGO reference"] == case.reference
    )
    xlsx_row = next(
        r
        for r in read_xlsx(admin_client_.get("/cases/export.xlsx"))
        if r["NGO reference"] == case.reference
    )
    assert csv_row["Last update"] == local.strftime("%Y-%m-%d %H:%M")
    assert csv_row["Opened on"] == case.opened_on.isoformat()
    assert xlsx_row["Last update"] == local.replace(tzinfo=None, microsecond=0)


def test_case_export_in_khmer_has_khmer_labels_names_and_charges(admin_client_, world):
    admin_client_.cookies["django_language"] = "km"
    khmer = read_csv(admin_client_.get("/cases/export.csv?province=KH-2"))
    admin_client_.cookies["django_language"] = "en"
    english = read_csv(admin_client_.get("/cases/export.csv?province=KH-2"))
    assert len(khmer) == len(english) == 2
    case = world["own"]
    with translation.override("km"):
        reference, status = str(exports.CASE_COLUMNS[0][1]), str(exports.CASE_COLUMNS[6][1])
        expected_status = case.get_status_display()
        yes_no = {str(translation.gettext("yes")), str(translation.gettext("no"))}
    row = next(r for r in khmer if r[reference] == case.reference)
    assert row[status] == expected_status
    assert case.province.name_km in row.values()
    charges = [f"{c.article} {c.name_km or c.name_en}" for c in case.charges.order_by("article")]
    assert "; ".join(charges) in row.values()
    assert set(row.values()) & yes_no
    # The flag in Khmer, and the same answer as in English.
    near = "Someone near or past the legal limit"
    flagged = next(r for r in english if r["NGO reference"] == case.reference)[near] == "yes"
    with translation.override("km"):
        near_km = str(dict((key, label) for key, label, _w in exports.CASE_COLUMNS)["near_limit"])
        assert row[near_km] == translation.gettext("yes" if flagged else "no")


def test_csv_written_in_several_pieces_is_the_same(admin_client_, world, monkeypatch):
    from reports import spreadsheet

    whole = read_csv(admin_client_.get("/cases/export.csv"))
    monkeypatch.setattr(spreadsheet, "FLUSH_EVERY", 1)
    response = admin_client_.get("/cases/export.csv")
    assert response.streaming
    assert read_csv(response) == whole


# --- The dossier ------------------------------------------------------------------------


def pdf_text(response) -> str:
    assert response["Content-Type"] == "application/pdf"
    result = subprocess.run(  # noqa: S603  (our fixed command, the PDF on stdin)
        [PDFTOTEXT, "-layout", "-", "-"], input=response.content, capture_output=True, check=True
    )
    return result.stdout.decode()


@pytest.fixture
def dossier_person(world):
    case = world["own"]
    accused = case.accused.first()
    lawyer = f.make_lawyer("Lawyer Kanha", organisation="Legal Aid (fictional)")
    f.represent(lawyer, accused)
    f.make_bail(
        accused,
        decision="denied",
        decided_on="2026-01-20",
        filed_on="2026-01-10",
        reasons="Risk to public order, the court said",
    )
    f.make_event(case, kind=Event.Kind.ARRESTED, accused=accused, description="Taken at home")
    second = f.make_case("KH-2", reference="BTB-0009", court_case_number="77/2026")
    f.add_accused(second, accused.detainee)
    f.add_accused(second, f.make_detainee("Co Accused", name_khmer="សហ ចុងចោទ"))
    return accused.detainee


def test_dossier_holds_identity_cases_charges_custody_hearings_bail(
    admin_client_, admin_user, dossier_person
):
    response = admin_client_.get(f"/detainees/{dossier_person.pk}/dossier.pdf")
    assert response.status_code == 200
    text = pdf_text(response)
    for expected in [
        "Sokha Vannak",
        "សុខា វណ្ណៈ",
        "BTB-0001",
        "BTB-0009",
        "77/2026",
        "Co Accused",
        "Pre-trial detention",
        "Lawyer Kanha",
        "Denied",
        "Risk to public order",
        "Taken at home",
        "Arrested",
    ]:
        assert expected in text, expected
    for secret in SENSITIVE:
        assert secret not in text
    entry = AuditEntry.objects.get(event=AuditEvent.EXPORT)
    assert entry.actor == admin_user and entry.object_id == dossier_person.pk
    assert entry.additional_data == {
        "format": "pdf",
        "filters": {"dossier": dossier_person.pk},
        "rows": 1,
        "anonymised": False,
    }


def test_anonymised_dossier_has_pseudonyms_and_no_names(admin_client_, dossier_person):
    response = admin_client_.get(f"/detainees/{dossier_person.pk}/dossier.pdf?anonymised=1")
    text = pdf_text(response)
    assert pseudonym("detainee", dossier_person.pk) in text
    for name in [
        "Sokha",
        "សុខា",
        "BTB-0001",
        "Co Accused",
        "Lawyer Kanha",
        "Risk to public order",
        "Taken at home",
        "04/17/1990",
        "1990-04-17",
        "Sok Vannak",
        "made by admin",
        *SENSITIVE,
    ]:
        assert name not in text, name
    entry = AuditEntry.objects.get(event=AuditEvent.EXPORT)
    assert entry.additional_data["anonymised"] is True
    assert "Sokha" not in entry.object_repr


def test_dossier_is_404_outside_scope_and_403_inside_for_non_admins(
    coordinator_client, caseworker_client, world
):
    far = world["far"].accused.first().detainee
    own = world["own"].accused.first().detainee
    assert coordinator_client.get(f"/detainees/{far.pk}/dossier.pdf").status_code == 404
    assert coordinator_client.get(f"/detainees/{own.pk}/dossier.pdf").status_code == 403
    assert caseworker_client.get(f"/detainees/{far.pk}/dossier.pdf").status_code == 404
    assert caseworker_client.get(f"/detainees/{own.pk}/dossier.pdf").status_code == 403
    assert not AuditEntry.objects.filter(event=AuditEvent.EXPORT).exists()


def test_dossier_of_no_one_is_404(admin_client_, world):
    assert admin_client_.get("/detainees/999999/dossier.pdf").status_code == 404


def test_dossier_queries_do_not_grow_with_cases(admin_client_, caseworker, dossier_person):
    url = f"/detainees/{dossier_person.pk}/dossier.pdf"

    def add_cases(n):
        for _ in range(n):
            case = f.make_case("KH-2", caseworker=caseworker)
            accused = f.add_accused(case, detainee=dossier_person)
            f.add_accused(case)
            f.hold(accused)
            f.make_hearing(case)
            f.make_bail(accused)
            f.represent(f.make_lawyer(), accused)
            case.charges.set([f.charge_pk(1)])

    add_cases(1)
    few = _queries(admin_client_, url)
    add_cases(10)
    assert _queries(admin_client_, url) == few


def test_export_buttons_only_for_admins_and_carry_the_filters(
    admin_client_, coordinator_client, world
):
    body = admin_client_.get("/cases/?province=KH-2&page=1").content.decode()
    assert 'href="/cases/export.csv?province=KH-2"' in body
    assert 'href="/cases/export.xlsx?province=KH-2&amp;anonymised=1"' in body
    assert "/detainees/export.csv" in admin_client_.get("/detainees/").content.decode()
    assert "export.csv" not in coordinator_client.get("/cases/").content.decode()
    assert "export.csv" not in coordinator_client.get("/detainees/").content.decode()


# --- Formulas hidden behind blanks, control characters and full-width signs --------

HIDDEN_FORMULAS = [
    "  =1+1",
    "\u00a0=1+1",  # no-break space
    "\n=1+1",
    "\r\n@SUM(A1)",
    "\t+1",
    "\x01=1+1",  # a control character XLSX cannot hold: removed, then checked
    "\u200b=1+1",  # zero-width space
    "\ufeff-1+1",  # byte-order mark
    "\u3000\uff1d1+1",  # ideographic space, full-width equals
    "\uff1d1+1",
    "\uff0b1",
    "\uff0d1",
    "\uff20SUM(A1)",
    "\ufe661+1",  # small equals
    "\u22121+1",  # minus sign
]


@pytest.mark.parametrize("value", HIDDEN_FORMULAS)
def test_a_formula_behind_blanks_or_in_full_width_is_quoted(value):
    assert safe_text(value) == "'" + value


@pytest.mark.parametrize("value", ["Sokha", " Sokha", "\u00a0Sokha", "ស៊ុន ចាន់", "", "  ", "1-2"])
def test_text_that_is_no_formula_is_left_alone(value):
    assert safe_text(value) == value


@pytest.mark.parametrize("anonymised", ["0", "1"], ids=["named", "anonymised"])
@pytest.mark.parametrize("value", HIDDEN_FORMULAS)
def test_hidden_formulas_are_quoted_in_every_people_export(admin_client_, value, anonymised):
    case = f.make_case("KH-12", reference="PNH-0009")
    f.add_accused(case, f.make_detainee("Hidden Formula", occupation=value))
    url = f"/detainees/export.csv?anonymised={anonymised}"
    (row,) = read_csv(admin_client_.get(url))
    assert row["Occupation"] == "'" + value
    raw = b"".join(admin_client_.get(url.replace(".csv", ".xlsx")).streaming_content)
    sheet = load_workbook(io.BytesIO(raw)).worksheets[0]
    header = [c.value for c in sheet[1]]
    occupation = sheet.cell(row=2, column=header.index("Occupation") + 1)
    assert occupation.data_type != "f"
    assert occupation.value.startswith("'")
    assert occupation.value == "'" + value.replace("\x01", "")
