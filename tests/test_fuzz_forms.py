"""Any input: every form and every filter answers with a page or a field error,
never a server error, and a refused post changes nothing that is stored.

The pages come from the access matrix (tests/test_access_matrix.py), so a new
page is fuzzed as soon as it is in the matrix; the forms and their fields are
read from each page's HTML, as a browser (or an attacker) sees them. Values
are random text, control characters (NUL included), huge strings, mixed
Khmer and Latin script, odd numbers and impossible dates, mixed with the
form's own valid values so the checks behind the first field are reached.

Besides the random examples, every field and filter of every form is sent, once
each, an integer no database column holds and a 1 MB string, the other fields
keeping valid values (``EXTREMES``). The client raises what the view raises, so
an exception the 500 page would hide as a 400 (config/views.py) fails too.
"""

import hashlib
import os
from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User

from . import factories as f
from .test_access_matrix import MATRIX, _url

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=bool(os.environ.get("CI")),  # the same examples on every CI run
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

KHMER = [chr(c) for c in range(0x1780, 0x17FA)]  # consonants, vowels, signs, digits
LATIN = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ôéàç-'.,0123456789")
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\ufeff", "\u202e"]

control = st.text(alphabet=st.characters(categories=["Cc"]), min_size=1, max_size=12)
mixed_script = st.text(alphabet=st.sampled_from(KHMER + LATIN + ZERO_WIDTH), max_size=120)
anything = st.text(max_size=200)
huge = st.builds(
    lambda piece, times: piece * times,
    st.sampled_from(["ក", "a", "Sokha ", "\x00", "9", "សុខា Vannak "]),
    st.integers(1_000, 40_000),
)
# Past what a 64-bit column (PostgreSQL bigint, SQLite INTEGER) or a 32-bit one holds.
OUT_OF_RANGE = [str(2**63), str(-(2**63) - 1), str(2**31), "9" * 30, "-" + "9" * 30]
MEGABYTE = 1_000_000
EXTREMES = [OUT_OF_RANGE[0], "a" * MEGABYTE, "9" * MEGABYTE]
numbers = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.integers(2**31, 10**40).map(str),
    st.integers(-(10**40), -(2**31)).map(str),
    st.sampled_from(["-1", "0", "1e9", "NaN", "0x10", "١٢", "១២", " 7 ", "9" * 40, *OUT_OF_RANGE]),
)
dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(
        ["2026-02-30", "0000-00-00", "9999-12-31T23:59", "1900-01-01", "31/12/2025", "២០២៦-០១-០១"]
    ),
)
# Megabytes go to every field once each (EXTREMES), not into the random draws: a page
# echoes its query into every link, and megabytes there cost minutes, not coverage.
junk = st.one_of(control, mixed_script, anything, huge, numbers, dates)


# --- Reading the forms of a page -----------------------------------------------------


class FormReader(HTMLParser):
    """The forms of a page: method, action, enctype and each field's name, kind and values."""

    def __init__(self):
        super().__init__()
        self.forms, self.form, self.select, self.textarea = [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.form = {
                "method": (a.get("method") or "get").lower(),
                "action": a.get("action") or "",
                "multipart": "multipart" in (a.get("enctype") or ""),
                "fields": {},
            }
            self.forms.append(self.form)
        elif self.form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                return
            field = self.form["fields"].setdefault(
                a["name"], {"kind": kind, "options": [], "value": None}
            )
            if kind in ("checkbox", "radio"):
                field["options"].append(a.get("value", "on"))
            else:
                field["value"] = a.get("value", "")
        elif tag == "select" and a.get("name"):
            self.select = self.form["fields"].setdefault(
                a["name"],
                {"kind": "multiple" if "multiple" in a else "select", "options": [], "value": None},
            )
        elif tag == "option" and self.select is not None:
            self.select["options"].append(a.get("value", ""))
        elif tag == "textarea" and a.get("name"):
            self.textarea = self.form["fields"].setdefault(
                a["name"], {"kind": "textarea", "options": [], "value": ""}
            )

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea["value"] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


SKIP_ACTIONS = ("/accounts/logout/", "/i18n/")  # signing out or switching language


def forms_of(html: str, page_url: str) -> list[dict]:
    reader = FormReader()
    reader.feed(html)
    found = []
    for form in reader.forms:
        form["action"] = urljoin(page_url, form["action"] or page_url)
        if not form["action"].startswith(SKIP_ACTIONS):
            found.append(form)
    return found


def field_strategy(field):
    """A valid value of the field (its own, or one of its options), or junk."""
    own = [field["value"]] if field["value"] not in (None, "") else []
    options = [o for o in field["options"] if o != ""]
    if field["kind"] == "multiple":
        picked = st.lists(st.one_of(st.sampled_from(options or ["1"]), junk), max_size=4)
        return st.one_of(st.just(options[:1]), picked)
    if field["kind"] == "file":
        return st.binary(max_size=3000).map(lambda b: SimpleUploadedFile("upload.xlsx", b))
    valid = st.sampled_from(own + options) if own + options else st.just("")
    return st.one_of(valid, valid, junk, st.none())


def data_strategy(form):
    names = [n for n in form["fields"] if n != "csrfmiddlewaretoken"]
    return st.fixed_dictionaries({n: field_strategy(form["fields"][n]) for n in names})


def clean(data: dict) -> dict:
    """Leave out fields drawn as None, as a browser leaves out unticked boxes."""
    return {k: v for k, v in data.items() if v is not None and v != []}


# --- What is stored --------------------------------------------------------------------


def stored_state() -> str:
    """A fingerprint of every row a form could write (the audit log aside)."""
    models = list(apps.get_app_config("casework").get_models()) + [User]
    through = [
        field.remote_field.through
        for model in models
        for field in model._meta.many_to_many
        if field.remote_field.through._meta.auto_created
    ]
    digest = hashlib.sha256()
    for model in models + through:
        for row in model.objects.order_by("pk").values_list():
            digest.update(repr(row).encode())
    return digest.hexdigest()


# --- The pages ------------------------------------------------------------------------

PAGES = sorted(name for name, (_, roles, status) in MATRIX.items() if status == 200)


@pytest.fixture
def world(own_case, other_case, far_case, caseworker2):
    for case in (own_case, other_case, far_case):
        f.make_bail(case.accused.first())
    lawyer = f.make_lawyer("Lawyer Sreymom")
    f.represent(lawyer, own_case.accused.first())
    return {"own": own_case, "other": other_case, "far": far_case}


def _client_with_role(request, roles):
    fixture = "admin_client_" if "admin" in roles else "coordinator_client"
    return request.getfixturevalue(fixture)


def _shown(data: dict) -> dict:
    """The data for an assertion message: a megabyte cut short."""
    return {k: (v[:40] + "…" if isinstance(v, str) and len(v) > 40 else v) for k, v in data.items()}


def send_form(client, form, data):
    data = clean(data)
    if form["method"] == "get":
        params = {k: v for k, v in data.items() if not hasattr(v, "read")}
        response = client.get(form["action"], params)
        assert response.status_code < 500, (form["action"], _shown(params))
        return
    before = stored_state()
    response = client.post(form["action"], data)
    assert response.status_code < 500, (form["action"], _shown(data))
    if response.status_code not in (301, 302, 303):
        assert stored_state() == before, f"{form['action']} refused the post but wrote"


def valid_data(form) -> dict:
    """Each field's own value, or its first option: a form a person could send."""
    data = {}
    for name, field in form["fields"].items():
        options = [o for o in field["options"] if o != ""]
        if name == "csrfmiddlewaretoken" or field["kind"] == "file":
            continue
        if field["kind"] in ("multiple", "checkbox"):
            data[name] = options[:1]
        else:
            data[name] = field["value"] if field["value"] not in (None, "") else options[:1]
            if isinstance(data[name], list):
                data[name] = data[name][0] if data[name] else ""
    return data


def send_extremes(client, form):
    """Every field in turn an out-of-range integer or a megabyte, the rest valid."""
    for name, field in form["fields"].items():
        if name == "csrfmiddlewaretoken" or field["kind"] == "file":
            continue
        for value in EXTREMES:
            data = valid_data(form)
            data[name] = [value] if field["kind"] in ("multiple", "checkbox") else value
            send_form(client, form, data)


def fuzz_form(client, form):
    client.raise_request_exception = True
    send_extremes(client, form)

    @FUZZ
    @given(data=data_strategy(form))
    def send(data):
        send_form(client, form, data)

    send()


@pytest.mark.parametrize("name", PAGES)
def test_every_form_and_filter_of_the_page_survives_any_input(request, world, name):
    kind, roles, _ = MATRIX[name]
    client = _client_with_role(request, roles)
    url = _url(name, kind, world["own"])
    response = client.get(url)
    assert response.status_code == 200, url
    if not response.get("Content-Type", "").startswith("text/html"):
        pytest.skip("not a page (a file)")
    forms = forms_of(response.content.decode(), url)
    for form in forms:
        fuzz_form(client, form)


@pytest.mark.parametrize(
    "url", ["/cases/", "/detainees/", "/hearings/", "/lawyers/", "/audit/", "/"]
)
def test_any_query_parameter_on_a_list_is_harmless(admin_client_, world, url):
    """Parameters no form offers (page numbers, sorting, paging keys) too."""
    admin_client_.raise_request_exception = True
    names = [
        *["page", "sort", "before", "q", "province", "status", "date_after", "format", "o", "x"],
        *["charge", "court", "caseworker", "lawyer", "hearing_within", "actor", "object_id"],
    ]
    for name in names:
        for value in EXTREMES:
            response = admin_client_.get(url, {name: value})
            assert response.status_code < 500, (url, name, value[:40])

    @FUZZ
    @given(params=st.dictionaries(st.sampled_from(names), junk, max_size=4))
    def send(params):
        response = admin_client_.get(url, params)
        assert response.status_code < 500, (url, _shown(params))

    send()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/accounts/login/", "/accounts/password-reset/"])
def test_the_open_forms_survive_any_input(client, url):
    forms = forms_of(client.get(url).content.decode(), url)
    assert forms
    for form in forms:
        fuzz_form(client, form)


def test_the_reader_finds_the_fields_a_browser_would_send(admin_client_, world):
    page = admin_client_.get(f"/cases/{world['own'].pk}/edit/").content.decode()
    (form,) = forms_of(page, "/cases/1/edit/")
    assert form["method"] == "post"
    assert {"reference", "province", "charges", "version", "summary"} <= set(form["fields"])
    assert form["fields"]["charges"]["kind"] == "checkbox"
    assert connection.vendor in ("sqlite", "postgresql")
