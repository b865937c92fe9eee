"""The permission table of docs/permissions.md, walked over every URL the project defines.

The URL patterns come from the resolver, so a new page that is not in
``MATRIX`` fails the suite until someone decides who may see it.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from casework.models import BailRequest, Case, Hearing, Representation

from . import factories as f

ALL = {"admin", "coordinator", "caseworker"}
MANAGERS = {"admin", "coordinator"}
ADMIN = {"admin"}

# url name -> (object the URL points at, roles allowed, status when allowed)
MATRIX = {
    "dashboard": (None, ALL, 200),
    "case_list": (None, ALL, 200),
    "case_new": (None, ALL, 200),
    "case_detail": ("case", ALL, 200),
    "case_timeline": ("case", ALL, 200),
    "case_edit": ("case", ALL, 200),
    "case_status": ("case", ALL, 405),  # POST only
    "case_assign": ("case", MANAGERS, 200),
    "hearing_new": ("case", ALL, 200),
    "bail_new": ("case", ALL, 200),
    "event_new": ("case", ALL, 200),
    "lawyer_assign": ("case", ALL, 200),
    "accused_add": ("case", ALL, 200),
    "charge_step_new": ("case", ALL, 200),
    "accused_remove": ("accused", ALL, 200),
    "hearing_agenda": (None, ALL, 200),
    "hearing_edit": ("hearing", ALL, 200),
    "bail_decide": ("bail", ALL, 200),
    "detainee_list": (None, ALL, 200),
    "detainee_detail": ("detainee", ALL, 200),
    "detainee_edit": ("detainee", ALL, 200),
    "lawyer_list": (None, ALL, 200),
    # Coordinators see the whole directory (their cases only on the page): see test_matrix.
    "lawyer_detail": ("lawyer", ALL, 200),
    "representation_end": ("representation", ALL, 200),
    "audit_list": (None, ADMIN, 200),
    # Duplicates across scopes: the review queue, merge and its undo are the admins'.
    "duplicate_queue": (None, ADMIN, 200),
    "detainee_merge": (None, ADMIN, 200),
    "merge_undo": (None, ADMIN, 200),
    "audit_verify": (None, ADMIN, 200),
    # Reports, exports and imports (reports/): figures for managers, files for admins.
    "reports": (None, MANAGERS, 200),
    "report_pdf": (None, ADMIN, 302),  # starts a job, and goes to its page
    "case_export_csv": (None, ADMIN, 200),
    "case_export_xlsx": (None, ADMIN, 200),
    "detainee_export_csv": (None, ADMIN, 200),
    "detainee_export_xlsx": (None, ADMIN, 200),
    "detainee_dossier": ("detainee", ADMIN, 200),
    "import_upload": (None, ADMIN, 200),
    "import_confirm": (None, ADMIN, 405),  # POST only
    # One's own account (accounts/): every signed-in user.
    "account": (None, ALL, 200),
    "password_change": (None, ALL, 200),
    "email_change": (None, ALL, 200),
    "confirm_password": (None, ALL, 200),
    # One's own jobs: every signed-in user sees their own list (tests/test_jobs.py).
    "job_list": (None, ALL, 200),
}
# Pages that take a POST: tampering with their ids must also give 404.
FORMS = {
    name for name in MATRIX if name.endswith(("_new", "_edit", "_assign", "_decide", "_end"))
}
# Kinds a coordinator sees outside their provinces too: the lawyers' directory.
DIRECTORY = {"lawyer"}

# Open to everyone, or outside the matrix for a stated reason.
OPEN = {
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "healthz",
    "set_language",
    # Sign-in's second step, and /admin/login/ (sends to sign-in or refuses).
    "login_verify",
    "admin_login",
    # Own second factor (two_factor: namespace, which reverse() here cannot
    # name): signed-in users only; tests/test_security_2fa.py.
    "setup",
    "qr",
    "setup_complete",
    "backup_tokens",
    "profile",
    "disable",
    # A background job's page, progress and file: the person who asked for it only,
    # 404 for everyone else whatever the role (tests/test_jobs.py).
    "job_detail",
    "job_status",
    "job_file",
}


def url_names(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue  # the admin has its own tests: only admins reach it
            yield from url_names(pattern, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield pattern.name


def test_every_url_is_in_the_matrix():
    missing = set(url_names()) - set(MATRIX) - OPEN
    assert not missing, f"Decide who may see these pages and add them to MATRIX: {missing}"


@pytest.fixture
def world(own_case, other_case, far_case):
    for case in (own_case, other_case, far_case):
        f.make_bail(case.accused.first())
        f.represent(f.make_lawyer(), case.accused.first())
    return {"own": own_case, "other": other_case, "far": far_case}


def target(kind, case: Case):
    if kind == "case":
        return case.pk
    if kind == "hearing":
        return Hearing.objects.filter(case=case).first().pk
    if kind == "bail":
        return BailRequest.objects.filter(case=case).first().pk
    if kind == "detainee":
        return case.accused.first().detainee_id
    if kind == "accused":
        return case.accused.first().pk
    if kind == "representation":
        return Representation.objects.filter(accused__case=case).first().pk
    if kind == "lawyer":
        return Representation.objects.filter(accused__case=case).first().lawyer_id
    raise AssertionError(kind)


PERSONAS = {
    # role, client fixture, cases inside scope, cases outside scope
    "admin": ("admin_client_", ["own", "other", "far"], []),
    "coordinator": ("coordinator_client", ["own", "other"], ["far"]),
    "caseworker": ("caseworker_client", ["own"], ["other", "far"]),
}


def _url(name, kind, case):
    if kind is None:
        return reverse(name)
    return reverse(name, args=[target(kind, case)])


@pytest.mark.parametrize("role", PERSONAS)
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_matrix(request, world, role, name):
    client_fixture, inside, outside = PERSONAS[role]
    client = request.getfixturevalue(client_fixture)
    kind, allowed, ok_status = MATRIX[name]
    for key in inside if kind else [None]:
        url = _url(name, kind, world.get(key))
        expected = ok_status if role in allowed else 403
        assert client.get(url).status_code == expected, (role, url)
    for key in outside if kind else []:
        if kind in DIRECTORY and role == "coordinator":
            continue  # docs/permissions.md: the directory, whom they represent in scope only
        url = _url(name, kind, world[key])
        post_only = ok_status == 405
        if not post_only:
            assert client.get(url).status_code == 404, (role, url, "outside scope must not exist")
        if post_only or name in FORMS:
            assert client.post(url, {}).status_code == 404, (role, url, "POST outside scope")


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_anonymous_is_sent_to_login(client, world, name):
    kind, _, _ = MATRIX[name]
    url = _url(name, kind, world["own"])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_open_pages_need_no_login(client, db):
    for name in ("login", "password_reset", "healthz"):
        assert client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("role", ["coordinator", "caseworker"])
def test_only_admins_reach_the_admin(request, world, role):
    client = request.getfixturevalue(PERSONAS[role][0])
    for url in (
        "/admin/",
        "/admin/casework/case/",
        f"/admin/casework/case/{world['own'].pk}/change/",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url


# --- Lists and search never contain out-of-scope rows -----------------------

LISTS = ["/", "/cases/", "/detainees/", "/hearings/", "/lawyers/"]


def test_caseworker_lists_show_only_own_cases(caseworker_client, world):
    for url in LISTS + ["/cases/?q=Dara", "/cases/?q=Chanthy", "/detainees/?q=Dara"]:
        body = caseworker_client.get(url).content.decode()
        assert "BTB-0002" not in body and "PNH-0001" not in body, url
        assert "Dara Phirun" not in body and "Chanthy Kosal" not in body, url
    assert "BTB-0001" in caseworker_client.get("/cases/").content.decode()


def test_coordinator_lists_show_only_own_provinces(coordinator_client, world):
    for url in LISTS + ["/cases/?q=Chanthy", "/detainees/?q=ចន្ធី"]:
        body = coordinator_client.get(url).content.decode()
        assert "PNH-0001" not in body and "Chanthy Kosal" not in body, url
    body = coordinator_client.get("/cases/").content.decode()
    assert "BTB-0001" in body and "BTB-0002" in body


def test_filter_by_out_of_scope_province_gives_nothing(caseworker_client, world):
    body = caseworker_client.get("/cases/?province=KH-12").content.decode()
    assert "PNH-0001" not in body


def test_sensitive_fields_never_in_lists(admin_client_, world):
    for url in LISTS + ["/cases/?q=Sokha", "/detainees/?q=Sokha"]:
        assert "012 000 111" not in admin_client_.get(url).content.decode(), url


def test_sensitive_fields_on_detail_for_assigned_caseworker_and_coordinator(
    caseworker_client, coordinator_client, world
):
    person = world["own"].accused.first().detainee
    for client in (caseworker_client, coordinator_client):
        assert "012 000 111" in client.get(f"/detainees/{person.pk}/").content.decode()


def test_sensitive_fields_hidden_from_caseworker_who_only_shares_a_case(caseworker, world):
    """A person accused in two cases: the caseworker of the other case sees the
    person, but not their family contact, unless assigned to a case of theirs."""
    from casework.access import can_see_sensitive

    person = world["own"].accused.first().detainee
    stranger = f.make_user("stranger", provinces=["KH-6"])
    assert not can_see_sensitive(stranger, person)
    assert can_see_sensitive(caseworker, person)


# --- Tampered ids in forms ---------------------------------------------------


def test_lawyer_from_outside_scope_in_hearing_post_is_a_form_error(caseworker_client, world):
    outside_lawyer = f.make_lawyer("Outside Lawyer")
    f.represent(outside_lawyer, world["far"].accused.first())
    case = world["own"]
    before = case.hearings.count()
    response = caseworker_client.post(
        f"/cases/{case.pk}/hearings/new/",
        {
            "kind": "trial",
            "scheduled_at": "2030-01-01T09:00",
            "court": case.court_id,
            "status": "scheduled",
            "lawyer": outside_lawyer.pk,
        },
    )
    assert response.status_code == 200
    assert "lawyer" in response.context["form"].errors
    assert case.hearings.count() == before


def test_person_from_outside_scope_in_case_new_is_a_form_error(caseworker_client, world):
    outsider = world["far"].accused.first().detainee
    response = caseworker_client.post(
        "/cases/new/",
        {
            "case-reference": "NEW-1",
            "case-province": f.province("KH-2").pk,
            "case-opened_on": "2026-01-01",
            "extra-existing": [outsider.pk],
            "extra-custody_status": "at_liberty",
        },
    )
    assert response.status_code == 200
    assert "existing" in response.context["extras"].errors
    assert not Case.objects.filter(reference="NEW-1").exists()


def test_bail_request_for_accused_of_another_case_is_a_form_error(caseworker_client, world):
    case = world["own"]
    foreign_accused = world["other"].accused.first()
    response = caseworker_client.post(
        f"/cases/{case.pk}/bail-requests/new/",
        {"accused": foreign_accused.pk, "filed_on": "2026-01-05", "court": case.court_id},
    )
    assert response.status_code == 200
    assert "accused" in response.context["form"].errors
    assert not BailRequest.objects.filter(accused=foreign_accused, filed_on="2026-01-05").exists()


def test_coordinator_cannot_move_a_case_to_a_province_outside_theirs(coordinator_client, world):
    case = world["own"]
    response = coordinator_client.post(
        f"/cases/{case.pk}/edit/",
        {
            "reference": case.reference,
            "province": f.province("KH-12").pk,
            "opened_on": "2026-01-01",
            "version": case.version,
        },
    )
    assert response.status_code == 200
    assert "province" in response.context["form"].errors
    case.refresh_from_db()
    assert case.province.code == "KH-2"


def test_people_list_counts_only_cases_in_scope(caseworker_client, world):
    """A person accused in the caseworker's case and in another's: the list says 1."""
    person = world["own"].accused.first().detainee
    f.add_accused(world["far"], detainee=person)
    response = caseworker_client.get("/detainees/")
    rows = {p.pk: p.case_count for p in response.context["page"]}
    assert rows[person.pk] == 1
