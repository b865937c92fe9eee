"""The Django admin: every registered model, for admins only, at a constant query count.

The model admins are read from ``admin.site._registry``; a model registered
without a builder in ``BUILDERS`` fails ``test_every_registered_model_has_a_builder``,
so a new admin cannot be forgotten. Every person here is fictional.
"""

import datetime as dt
import itertools
import unicodedata

import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from audit.log import record
from audit.models import AuditEntry, AuditEvent
from casework.models import (
    Accused,
    BailRequest,
    Case,
    Charge,
    Court,
    CustodyPeriod,
    DetentionLimit,
    Event,
    Hearing,
    Province,
)

from . import factories as f

pytestmark = pytest.mark.django_db

PROVINCE_CODES = [f"KH-{n}" for n in range(1, 26)]


def _label(model) -> str:
    return model._meta.label


REGISTERED = sorted(admin.site._registry, key=_label)
MODEL_PARAMS = [pytest.param(model, id=_label(model)) for model in REGISTERED]


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


# --- Builders: one new row per call, each with its own related rows ----------
#
# Related rows differ from one call to the next (another province, lawyer,
# person...), so a list that fetches them one by one shows up in the counts.


_counter = itertools.count(1)


def _n() -> int:
    return next(_counter)


def _code(n: int) -> str:
    return PROVINCE_CODES[n % len(PROVINCE_CODES)]


def _case(n: int) -> Case:
    code = _code(n)
    return f.make_case(code, caseworker=f.make_user(f"cw{n}", provinces=[code]))


def _accused(n: int):
    return f.add_accused(_case(n), f.make_detainee(f"Fictional Person {n}"))


def build_user(n):
    return f.make_user(f"staff{n}", role=Role.COORDINATOR, provinces=[_code(n)])


def build_province(n):
    # The code holds six characters: T- and n in base 36 stay unique and short.
    return Province.objects.create(
        code=f"T-{_base36(n)}", name_en=f"Test Province {n}", name_km="ខេត្ត"
    )


def _base36(n: int) -> str:
    digits = ""
    while True:
        n, digit = divmod(n, 36)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[digit] + digits
        if not n:
            return digits


def build_court(n):
    return Court.objects.create(
        name_en=f"Test Court {n}", level=Court.Level.FIRST_INSTANCE, province=build_province(n)
    )


def build_charge(n):
    return Charge.objects.create(name_en=f"Test charge {n}", article=f"Art. {n}")


def build_limit(n):
    return DetentionLimit.objects.create(
        code=f"test-{n}", name_en=f"Test limit {n}", unit="days", initial=10, maximum=20
    )


def build_case(n):
    case = _case(n)
    f.add_accused(case, f.make_detainee(f"Fictional Person {n}"))
    case.charges.add(Charge.objects.order_by("pk")[n % 5])
    return case


def build_detainee(n):
    return f.make_detainee(
        f"Fictional Person {n}", name_khmer="បុគ្គលប្រឌិត", home_province=f.province(_code(n))
    )


def build_accused(n):
    return _accused(n)


def build_lawyer(n):
    return f.make_lawyer(f"Fictional Lawyer {n}", bar_number=f"BAR-{n}")


def build_representation(n):
    return f.represent(build_lawyer(n), _accused(n))


def build_hearing(n):
    return f.make_hearing(_case(n), lawyer=build_lawyer(n), monitor=build_user(n))


def build_bail(n):
    first = f.make_bail(_accused(n), filed_by=build_lawyer(n))
    return f.make_bail(first.accused, appeal_of=first, filed_by=build_lawyer(_n()))


def build_event(n):
    accused = _accused(n)
    return f.make_event(accused.case, accused=accused, recorded_by=build_user(n))


def build_custody(n):
    return f.hold(_accused(n), limit_code=["pretrial-felony", "police-custody"][n % 2])


def build_audit_entry(n):
    return record(AuditEvent.VIEW, actor=build_user(n), obj=build_lawyer(n))


BUILDERS = {
    "accounts.User": build_user,
    "casework.Province": build_province,
    "casework.Court": build_court,
    "casework.Charge": build_charge,
    "casework.DetentionLimit": build_limit,
    "casework.Case": build_case,
    "casework.Detainee": build_detainee,
    "casework.Accused": build_accused,
    "casework.Lawyer": build_lawyer,
    "casework.Representation": build_representation,
    "casework.Hearing": build_hearing,
    "casework.BailRequest": build_bail,
    "casework.Event": build_event,
    "casework.CustodyPeriod": build_custody,
    "audit.AuditEntry": build_audit_entry,
}


def build(model):
    return BUILDERS[_label(model)](_n())


def admin_request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(queries)


def test_every_registered_model_has_a_builder():
    assert {_label(model) for model in REGISTERED} == set(BUILDERS)


def test_groups_are_not_in_the_admin():
    """Access follows the user's role; Django's groups would be a second, unused system."""
    from django.contrib.auth.models import Group

    assert not admin.site.is_registered(Group)


# --- Admins: every page answers ---------------------------------------------


def test_admin_index_lists_every_model(admin_client_):
    response = admin_client_.get(reverse("admin:index"))
    assert response.status_code == 200
    for model in REGISTERED:
        assert url(model, "changelist") in response.content.decode(), _label(model)


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_changelist_answers(admin_client_, model):
    build(model)
    response = admin_client_.get(url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_change_page_answers(admin_client_, model):
    obj = build(model)
    response = admin_client_.get(url(model, "change", obj.pk))
    assert response.status_code == 200
    assert response.context["original"] == obj


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_add_page_answers_where_adding_is_allowed(admin_client_, admin_user, model):
    model_admin = admin.site._registry[model]
    response = admin_client_.get(url(model, "add"))
    if model_admin.has_add_permission(admin_request(admin_user)):
        assert response.status_code == 200
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_history_and_delete_pages_answer(admin_client_, admin_user, model):
    obj = build(model)
    model_admin = admin.site._registry[model]
    assert admin_client_.get(url(model, "history", obj.pk)).status_code == 200
    response = admin_client_.get(url(model, "delete", obj.pk))
    if model_admin.has_delete_permission(admin_request(admin_user), obj):
        assert response.status_code == 200
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_deleting_never_fails_with_a_server_error(admin_client_, admin_user, model):
    """Protected rows (a lawyer with hearings, a province with courts) get the admin's
    "cannot delete" page; everything else is deleted; nothing answers 500."""
    obj = build(model)
    model_admin = admin.site._registry[model]
    allowed = model_admin.has_delete_permission(admin_request(admin_user), obj)
    response = admin_client_.post(url(model, "delete", obj.pk), {"post": "yes"})
    if not allowed:
        assert response.status_code == 403
        assert model._default_manager.filter(pk=obj.pk).exists()
    elif response.status_code == 200:
        assert response.context["protected"] or response.context["perms_lacking"]
        assert model._default_manager.filter(pk=obj.pk).exists()
    else:
        assert response.status_code == 302
        assert not model._default_manager.filter(pk=obj.pk).exists()


AUTOCOMPLETE_PARAMS = [
    pytest.param(model, field, id=f"{_label(model)}.{field}")
    for model in REGISTERED
    for field in admin.site._registry[model].autocomplete_fields
]


@pytest.mark.parametrize(("model", "field"), AUTOCOMPLETE_PARAMS)
def test_autocomplete_answers_admins(admin_client_, model, field):
    build(model)
    response = admin_client_.get(
        reverse("admin:autocomplete"),
        {
            "app_label": model._meta.app_label,
            "model_name": model._meta.model_name,
            "field_name": field,
            "term": "a",
        },
    )
    assert response.status_code == 200
    assert "results" in response.json()


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_changelist_search_answers(admin_client_, model):
    build(model)
    response = admin_client_.get(url(model, "changelist"), {"q": "Fictional ប្រឌិត 1"})
    assert response.status_code == 200


# --- Constant query counts ----------------------------------------------------


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_changelist_query_count_does_not_grow_with_rows(admin_client_, model):
    path = url(model, "changelist")
    build(model)
    admin_client_.get(path)  # warm the per-process caches (content types, sessions)
    few = count_queries(admin_client_, path)
    rows_before = admin_client_.get(path).context["cl"].result_count
    for _ in range(19):
        build(model)
    many = count_queries(admin_client_, path)
    assert admin_client_.get(path).context["cl"].result_count >= rows_before + 19
    assert many == few, f"{_label(model)}: {few} queries with few rows, {many} with 19 more"


def _add_case_history(case, n: int):
    accused = case.accused.get()
    lawyer = build_lawyer(n)
    court = Court.objects.exclude(level=Court.Level.FIRST_INSTANCE).order_by("pk")[n % 2]
    f.make_hearing(
        case,
        days_from_now=-n,
        court=court,
        lawyer=lawyer,
        status=Hearing.Status.HELD,
        outcome="Adjourned",
    )
    decided = timezone.localdate() - dt.timedelta(days=n)
    f.make_bail(
        accused,
        court=court,
        filed_by=lawyer,
        filed_on=decided - dt.timedelta(days=3),
        decision=BailRequest.Decision.DENIED,
        decided_on=decided,
    )
    f.make_event(case, kind=Event.Kind.TRANSFERRED, accused=accused, recorded_by=build_user(n))
    f.hold(accused, days_ago=n + 5)


def test_case_change_page_query_count_does_not_grow_with_its_history(admin_client_):
    case = build_case(_n())
    _add_case_history(case, _n())
    path = url(Case, "change", case.pk)
    admin_client_.get(path)
    few = count_queries(admin_client_, path)
    for _ in range(9):
        _add_case_history(case, _n())
    for _ in range(4):
        f.add_accused(case, f.make_detainee(f"Fictional Person {_n()}"))
    many = count_queries(admin_client_, path)
    response = admin_client_.get(path)
    shown = {
        formset.formset.prefix: len(formset.formset.forms)
        for formset in response.context["inline_admin_formsets"]
    }
    assert shown == {"accused": 5, "hearings": 10, "bail_requests": 10, "events": 10}
    assert many == few, f"{few} queries with one row per inline, {many} with ten"


# --- Search -----------------------------------------------------------------


@pytest.fixture
def searchable_case():
    case = f.make_case("KH-2", reference="CW-2026-0101", court_case_number="1487/2026")
    f.add_accused(
        case,
        f.make_detainee("Chheng Sorn", name_khmer="ឆេង សន", aliases="Chheng Sorng\nChamreun Sorn"),
    )
    f.add_accused(
        case, f.make_detainee("Pheap Chaeun", name_khmer="ភាព ចើន", aliases="Phéap Chaôeun")
    )
    f.make_case("KH-12", reference="CW-2026-0102", court_case_number="0001/2025")
    return case


def _search(client, term) -> list:
    response = client.get(url(Case, "changelist"), {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize(
    "term",
    [
        "ឆេង",  # Khmer family name
        "សន",  # Khmer fragment
        "ចើ",  # Khmer fragment of the second accused
        "Sorng",  # alias spelling
        "Chamreun",  # alias
        "chheng sorn",  # Latin name, any case
        "1487/2026",  # court case number
        "1487",  # part of it
        "CW-2026-0101",
    ],
)
def test_case_search_finds_the_case(admin_client_, searchable_case, term):
    assert _search(admin_client_, term) == [searchable_case]


def test_case_search_finds_an_accented_alias_typed_decomposed(admin_client_, searchable_case):
    """Names are stored NFC; a keyboard may send ô as o + U+0302."""
    typed = unicodedata.normalize("NFD", "Chaôeun")
    assert typed != "Chaôeun"
    assert _search(admin_client_, typed) == [searchable_case]


def test_case_search_lists_a_case_once_whatever_matches(admin_client_, searchable_case):
    # Both accused share the family-name fragment "Ch"; the case appears once.
    assert _search(admin_client_, "Ch") == [searchable_case]


def test_case_search_finds_nothing_for_a_stranger(admin_client_, searchable_case):
    assert _search(admin_client_, "Nobody Atall") == []


# --- Non-admins never reach the admin ----------------------------------------


def _refused(response) -> bool:
    if response.status_code == 403:
        return True
    return response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


@pytest.fixture(params=["coordinator_client", "caseworker_client"])
def staff_client(request, own_case, far_case):
    return request.getfixturevalue(request.param)


def test_non_admins_are_sent_to_the_admin_login(staff_client):
    response = staff_client.get(reverse("admin:index"))
    assert _refused(response)


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_non_admins_get_no_changelist(staff_client, model):
    response = staff_client.get(url(model, "changelist"))
    assert _refused(response)
    assert b"BTB-0001" not in response.content


@pytest.mark.parametrize("model", MODEL_PARAMS)
def test_non_admins_get_no_change_page(staff_client, model):
    obj = build(model)
    for view in ("change", "history", "delete"):
        response = staff_client.get(url(model, view, obj.pk))
        assert _refused(response), (view, response.status_code)


def test_non_admins_get_no_case_data_or_autocomplete(staff_client, own_case):
    response = staff_client.get(url(Case, "change", own_case.pk), follow=True)
    assert b"Sokha" not in response.content
    assert "សុខា".encode() not in response.content
    response = staff_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "casework",
            "model_name": "hearing",
            "field_name": "case",
            "term": "BTB",
        },
    )
    assert _refused(response)


def test_non_admins_cannot_post_to_the_admin(staff_client, own_case):
    response = staff_client.post(url(Case, "delete", own_case.pk), {"post": "yes"})
    assert _refused(response)
    assert Case.objects.filter(pk=own_case.pk).exists()


def test_a_deactivated_admin_is_refused(admin_client_, admin_user):
    admin_user.is_active = False
    admin_user.save()
    response = admin_client_.get(url(Case, "changelist"))
    # Signed out by deactivation: the site's own login page, not the data.
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- Invalid input re-renders the form -------------------------------------


def _form_data(client, add_url) -> dict:
    """The inline management forms the add page rendered, as a browser would send them back."""
    response = client.get(add_url)
    assert response.status_code == 200
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    return data


def _case_form(client, **fields) -> dict:
    data = _form_data(client, url(Case, "add"))
    data.update(
        {
            "reference": "CW-2026-0500",
            "court_case_number": "",
            "title": "",
            "court": f.court_of("KH-2").pk,
            "province": f.province("KH-2").pk,
            "status": "summoned",
            "opened_on": "2026-03-01",
            "caseworker": "",
            "opened_by": "",
            "summary": "",
            "sources": "",
        }
    )
    data.update(fields)
    return data


def test_admin_can_add_a_case(admin_client_):
    response = admin_client_.post(url(Case, "add"), _case_form(admin_client_))
    assert response.status_code == 302
    assert Case.objects.filter(reference="CW-2026-0500").exists()


def test_a_duplicate_case_reference_re_renders_the_form(admin_client_):
    f.make_case(reference="CW-2026-0500")
    response = admin_client_.post(url(Case, "add"), _case_form(admin_client_))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["reference"] == [
        "Case with this NGO reference already exists."
    ]
    assert "Case with this NGO reference already exists." in response.content.decode()
    assert Case.objects.filter(reference="CW-2026-0500").count() == 1


def test_a_blank_case_reference_re_renders_the_form(admin_client_):
    response = admin_client_.post(url(Case, "add"), _case_form(admin_client_, reference="  "))
    assert response.status_code == 200
    assert "reference" in response.context["adminform"].form.errors


def _post_add(client, model, data):
    response = client.post(url(model, "add"), data)
    assert response.status_code == 200, "the form should have been refused"
    return response.content.decode()


def test_a_held_hearing_without_outcome_re_renders_the_form(admin_client_):
    case = f.make_case()
    content = _post_add(
        admin_client_,
        Hearing,
        {
            "case": case.pk,
            "court": case.court_id,
            "kind": "trial",
            "scheduled_at_0": "2026-03-01",
            "scheduled_at_1": "09:00",
            "status": "held",
            "outcome": "",
        },
    )
    assert "A hearing that was held needs its outcome." in content


@pytest.mark.parametrize(
    ("decision", "decided_on", "message"),
    [
        ("granted", "", "A decided request needs its decision date; a pending one has none."),
        ("pending", "2026-03-05", "A decided request needs its decision date"),
        ("denied", "2026-02-01", "The decision cannot come before the filing."),
    ],
)
def test_an_inconsistent_bail_request_re_renders_the_form(
    admin_client_, decision, decided_on, message
):
    accused = _accused(_n())
    content = _post_add(
        admin_client_,
        BailRequest,
        {
            "accused": accused.pk,
            "court": accused.case.court_id,
            "filed_on": "2026-03-01",
            "decision": decision,
            "decided_on": decided_on,
        },
    )
    assert message in content


def test_a_duplicate_accused_re_renders_the_form(admin_client_):
    accused = _accused(_n())
    content = _post_add(
        admin_client_,
        Accused,
        {
            "case": accused.case_id,
            "detainee": accused.detainee_id,
            "custody_status": "at_liberty",
            "added_on": "2026-03-01",
        },
    )
    assert "This person is already accused in this case." in content


def test_custody_ending_before_it_starts_re_renders_the_form(admin_client_):
    accused = _accused(_n())
    content = _post_add(
        admin_client_,
        CustodyPeriod,
        {
            "accused": accused.pk,
            "limit": DetentionLimit.objects.get(code="pretrial-felony").pk,
            "started_at_0": "2026-03-01",
            "started_at_1": "09:00",
            "ended_at_0": "2026-02-01",
            "ended_at_1": "09:00",
            "extensions": 0,
        },
    )
    assert "Custody cannot end before it starts." in content


def test_admin_can_add_a_user_with_a_role_and_provinces(admin_client_):
    data = _form_data(admin_client_, url(User, "add"))
    data.update(
        {
            "username": "newcoordinator",
            "password1": "a-long-test-password-2026",
            "password2": "a-long-test-password-2026",
            "role": Role.COORDINATOR,
            "provinces": [f.province("KH-2").pk, f.province("KH-6").pk],
        }
    )
    response = admin_client_.post(url(User, "add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username="newcoordinator")
    assert user.role == Role.COORDINATOR and not user.is_staff and not user.is_superuser
    assert set(user.provinces.values_list("code", flat=True)) == {"KH-2", "KH-6"}


def test_user_password_page_answers(admin_client_, coordinator):
    response = admin_client_.get(reverse("admin:auth_user_password_change", args=[coordinator.pk]))
    assert response.status_code == 200


# --- The audit log is read-only ---------------------------------------------


@pytest.fixture
def audit_entry(admin_user):
    return record(AuditEvent.VIEW, actor=admin_user, obj=f.make_lawyer("Fictional Lawyer"))


def test_audit_changelist_has_no_add_button(admin_client_, audit_entry):
    response = admin_client_.get(url(AuditEntry, "changelist"))
    assert response.status_code == 200
    assert url(AuditEntry, "add") not in response.content.decode()
    assert not response.context["has_add_permission"]


def test_audit_add_is_refused(admin_client_, audit_entry):
    assert admin_client_.get(url(AuditEntry, "add")).status_code == 403
    before = AuditEntry.objects.count()
    response = admin_client_.post(url(AuditEntry, "add"), {"object_repr": "forged"})
    assert response.status_code == 403
    assert AuditEntry.objects.count() == before


def test_audit_change_page_is_view_only(admin_client_, audit_entry):
    response = admin_client_.get(url(AuditEntry, "change", audit_entry.pk))
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert not response.context["has_delete_permission"]
    assert url(AuditEntry, "delete", audit_entry.pk) not in response.content.decode()


def test_audit_change_is_refused(admin_client_, audit_entry):
    response = admin_client_.post(
        url(AuditEntry, "change", audit_entry.pk), {"object_repr": "forged"}
    )
    assert response.status_code == 403
    audit_entry.refresh_from_db()
    assert audit_entry.object_repr == "Fictional Lawyer"


def test_audit_delete_is_refused(admin_client_, audit_entry):
    assert admin_client_.get(url(AuditEntry, "delete", audit_entry.pk)).status_code == 403
    response = admin_client_.post(url(AuditEntry, "delete", audit_entry.pk), {"post": "yes"})
    assert response.status_code == 403
    assert AuditEntry.objects.filter(pk=audit_entry.pk).exists()


def test_audit_changelist_offers_no_bulk_actions(admin_client_, audit_entry):
    response = admin_client_.post(
        url(AuditEntry, "changelist"),
        {"action": "delete_selected", "_selected_action": [audit_entry.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302, 403)
    assert AuditEntry.objects.filter(pk=audit_entry.pk).exists()


def test_an_accused_cannot_be_moved_to_another_case(admin_client_, own_case, other_case):
    accused = own_case.accused.first()
    period = f.hold(accused)
    url = f"/admin/casework/accused/{accused.pk}/change/"
    page = admin_client_.get(url).content.decode()
    assert 'name="case"' not in page  # shown, not editable
    admin_client_.post(
        url,
        {"case": other_case.pk, "detainee": accused.detainee_id,
         "custody_status": accused.custody_status, "added_on": str(accused.added_on)},
    )  # fmt: skip
    accused.refresh_from_db()
    period.refresh_from_db()
    assert accused.case_id == period.case_id == own_case.pk
