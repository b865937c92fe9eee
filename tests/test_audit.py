"""Every write path leaves one audit entry naming the actor, with before and
after values; logins, logouts and failed logins are recorded too."""

from html.parser import HTMLParser
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from audit.context import acting_as
from audit.log import audited_command, history_for, record_command
from audit.models import AuditEntry, AuditEvent
from casework.models import CaseStatus, Lawyer

from . import factories as f

PASSWORD = "a-long-test-password"  # tests/factories.make_user


class _AdminForm(HTMLParser):
    """The values a browser would submit from the admin's change form."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.data: dict[str, list[str]] = {}
        self._select = None
        self._textarea = None

    def _add(self, name, value):
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside or (not attrs.get("name") and tag != "option"):
            return
        name = attrs.get("name")
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "reset", "file", "image"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self._add(name, attrs.get("value", "on" if kind == "checkbox" else ""))
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self._add(self._select, attrs.get("value", ""))
        elif tag == "textarea":
            self._textarea = name
            self._add(name, "")

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self.inside = False


def admin_form_data(client, url: str, form_id: str) -> dict[str, list[str]]:
    response = client.get(url)
    assert response.status_code == 200
    parser = _AdminForm(form_id)
    parser.feed(response.content.decode())
    assert parser.data, f"no #{form_id} on {url}"
    return parser.data


def latest(model_or_obj, **filters) -> AuditEntry:
    entries = AuditEntry.objects.filter(**filters)
    if model_or_obj is not None:
        entries = entries.filter(object_id=model_or_obj.pk)
    return entries.latest("id")


# --- Pages and the admin ----------------------------------------------------


def test_case_status_changed_on_its_form_records_actor_and_before_after(
    admin_client_, admin_user, far_case
):
    url = f"/admin/casework/case/{far_case.pk}/change/"
    data = admin_form_data(admin_client_, url, "case_form")
    data["status"] = [CaseStatus.CHARGED]
    last_id = AuditEntry.objects.latest("id").id

    response = admin_client_.post(url, data, REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 302, response.context and response.context["errors"]
    far_case.refresh_from_db()
    assert far_case.status == CaseStatus.CHARGED
    entry = AuditEntry.objects.get(id__gt=last_id, content_type__model="case")
    assert entry.event == AuditEvent.CHANGE
    assert entry.action == AuditEntry.Action.UPDATE
    assert entry.object_id == far_case.pk
    assert entry.actor == admin_user
    assert entry.changes["status"] == [CaseStatus.SUMMONED, CaseStatus.CHARGED]
    assert entry.remote_addr == "203.0.113.7"


def test_lawyer_changed_in_the_admin_records_actor_and_before_after(admin_client_, admin_user):
    lawyer = f.make_lawyer("Meas Sothea", organisation="Legal Aid of Cambodia")
    url = f"/admin/casework/lawyer/{lawyer.pk}/change/"
    data = admin_form_data(admin_client_, url, "lawyer_form")
    data["organisation"] = ["Cambodian Defenders Project"]
    data["bar_number"] = ["B-0417"]

    response = admin_client_.post(url, data, REMOTE_ADDR="198.51.100.20")

    assert response.status_code == 302
    entries = AuditEntry.objects.filter(content_type__model="lawyer", object_id=lawyer.pk)
    update = entries.get(action=AuditEntry.Action.UPDATE)
    assert update.actor == admin_user
    assert update.actor_email == admin_user.email or update.actor_email is None
    assert update.changes == {
        "organisation": ["Legal Aid of Cambodia", "Cambodian Defenders Project"],
        "bar_number": [None, "B-0417"],
    }
    assert update.remote_addr == "198.51.100.20"


def test_lawyer_deleted_in_the_admin_keeps_the_values_it_had(admin_client_, admin_user):
    lawyer = f.make_lawyer("Chea Bopha", organisation="Legal Aid of Cambodia")

    response = admin_client_.post(
        f"/admin/casework/lawyer/{lawyer.pk}/delete/", {"post": "yes"}, REMOTE_ADDR="192.0.2.4"
    )

    assert response.status_code == 302
    assert not Lawyer.objects.filter(pk=lawyer.pk).exists()
    entry = latest(lawyer, content_type__model="lawyer", action=AuditEntry.Action.DELETE)
    assert entry.actor == admin_user
    assert entry.object_repr == "Chea Bopha"
    assert entry.changes["organisation"] == ["Legal Aid of Cambodia", None]
    assert entry.remote_addr == "192.0.2.4"


@pytest.mark.parametrize(
    "trusted, forwarded, recorded",
    [
        # No trusted proxy (the default): the header is anyone's to write.
        ([], "203.0.113.50", "10.0.0.2"),
        # Our proxy overwrites the header, or appends to what the client sent.
        (["10.0.0.2"], "203.0.113.50", "203.0.113.50"),
        (["10.0.0.2"], "6.6.6.6, 203.0.113.50", "203.0.113.50"),
        (["10.0.0.0/8"], "6.6.6.6, 203.0.113.50, 10.0.0.7", "203.0.113.50"),
    ],
)
def test_address_behind_the_proxy_is_the_one_our_proxy_saw(
    admin_client_, settings, trusted, forwarded, recorded
):
    settings.TRUSTED_PROXIES = trusted
    lawyer = f.make_lawyer("Ouk Vanna")
    url = f"/admin/casework/lawyer/{lawyer.pk}/change/"
    data = admin_form_data(admin_client_, url, "lawyer_form")
    data["organisation"] = ["Legal aid"]

    admin_client_.post(
        url,
        data,
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=forwarded,
        HTTP_X_FORWARDED_PORT="4444",
    )

    entry = latest(lawyer, content_type__model="lawyer", action=AuditEntry.Action.UPDATE)
    assert entry.remote_addr == recorded
    assert entry.remote_port == (4444 if trusted else None)


# --- Outside a request: commands, imports, services -------------------------


def test_save_inside_acting_as_records_that_actor(admin_user):
    lawyer = f.make_lawyer("Sam Rithy")
    with acting_as(admin_user):
        lawyer.organisation = "Legal aid group"
        lawyer.save()

    entry = latest(lawyer, content_type__model="lawyer", action=AuditEntry.Action.UPDATE)
    assert entry.actor == admin_user
    assert entry.remote_addr is None
    assert entry.changes == {"organisation": ["", "Legal aid group"]}


def test_save_outside_a_request_and_acting_as_has_no_actor(db):
    lawyer = f.make_lawyer("Sam Rithy")
    entry = latest(lawyer, content_type__model="lawyer", action=AuditEntry.Action.CREATE)
    assert entry.actor is None
    assert entry.changes["name"] == [None, "Sam Rithy"]


def test_acting_as_ends_with_its_block(admin_user):
    with acting_as(admin_user):
        pass
    lawyer = f.make_lawyer("Sam Rithy")
    assert latest(lawyer, content_type__model="lawyer").actor is None


def test_audited_command_records_the_run_and_attributes_its_changes(admin_user):
    with audited_command("import_lawyers", actor=admin_user, data={"file": "lawyers.csv"}) as run:
        lawyer = f.make_lawyer("Sok Phalla")

    assert run.event == AuditEvent.COMMAND
    assert run.actor == admin_user
    assert run.object_repr == "import_lawyers"
    assert run.additional_data == {"command": "import_lawyers", "file": "lawyers.csv"}
    created = latest(lawyer, content_type__model="lawyer")
    assert created.id > run.id
    assert created.actor == admin_user


def test_record_command_without_an_actor_is_the_system(db):
    entry = record_command("clearsessions")
    assert entry.actor is None
    assert entry.event == AuditEvent.COMMAND


SEED_DEMO = Path(settings.BASE_DIR, "casework", "management", "commands", "seed_demo.py")


@pytest.mark.skipif(not SEED_DEMO.exists(), reason="casework has no seed_demo command yet")
def test_seed_demo_writes_a_command_entry(db):
    call_command("seed_demo", "--cases", "3", stdout=StringIO())
    entry = AuditEntry.objects.get(event=AuditEvent.COMMAND)
    assert entry.additional_data["command"] == "seed_demo"


# --- Logging in and out -----------------------------------------------------


def test_login_is_recorded_with_actor_and_address(client, admin_user):
    response = client.post(
        "/accounts/login/",
        {"username": "admin", "password": PASSWORD},
        REMOTE_ADDR="203.0.113.9",
    )

    assert response.status_code == 302
    entry = AuditEntry.objects.filter(event=AuditEvent.LOGIN).get()
    assert entry.actor == admin_user
    assert entry.object_id == admin_user.pk
    assert entry.remote_addr == "203.0.113.9"


def test_logout_is_recorded(admin_client_, admin_user):
    response = admin_client_.post("/accounts/logout/", REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 302
    entry = AuditEntry.objects.filter(event=AuditEvent.LOGOUT).get()
    assert entry.actor == admin_user
    assert entry.remote_addr == "203.0.113.9"


def test_failed_login_records_the_username_tried_never_the_password(client, admin_user):
    wrong = "not-the-password-1234"
    response = client.post(
        "/accounts/login/", {"username": "admin", "password": wrong}, REMOTE_ADDR="203.0.113.66"
    )

    assert response.status_code == 200
    entry = AuditEntry.objects.filter(event=AuditEvent.LOGIN_FAILED).get()
    assert entry.actor is None
    assert entry.additional_data == {"username": "admin"}
    assert entry.object_repr == "admin"
    assert entry.remote_addr == "203.0.113.66"
    stored = AuditEntry.objects.filter(pk=entry.pk).values().get()
    assert wrong not in repr(stored)
    assert not AuditEntry.objects.filter(event=AuditEvent.LOGIN).exists()


def test_failed_login_for_an_unknown_name_is_recorded(client, db):
    client.post("/accounts/login/", {"username": "nobody-here", "password": "guess-guess-1"})
    entry = AuditEntry.objects.filter(event=AuditEvent.LOGIN_FAILED).get()
    assert entry.additional_data == {"username": "nobody-here"}


# --- One record's history ---------------------------------------------------


def test_history_for_lists_one_records_entries_newest_first(admin_user):
    lawyer = f.make_lawyer("Keo Sreymom")
    other = f.make_lawyer("Lim Dara")
    with acting_as(admin_user):
        for organisation in ("First group", "Second group", "Third group"):
            lawyer.organisation = organisation
            lawyer.save()
        other.organisation = "Elsewhere"
        other.save()

    history = history_for(lawyer)

    assert [e.action for e in history] == [1, 1, 1, 0]
    assert history[0].changes == {"organisation": ["Second group", "Third group"]}
    assert {e.object_id for e in history} == {lawyer.pk}
    assert history_for(lawyer, limit=2) == history[:2]
    assert history_for(lawyer, events=[AuditEvent.VIEW]) == []


def test_history_for_runs_one_query(admin_user, django_assert_num_queries):
    lawyer = f.make_lawyer("Keo Sreymom")
    with acting_as(admin_user):
        lawyer.organisation = "Legal aid"
        lawyer.save()
    with django_assert_num_queries(1):
        history = history_for(lawyer)
        assert [e.actor for e in history] == [admin_user, None]
        assert {e.content_type.model for e in history} == {"lawyer"}


def test_opening_a_person_in_the_admin_is_recorded_as_a_view(admin_client_, own_case):
    from audit.models import AuditEntry

    person = own_case.accused.first().detainee
    response = admin_client_.get(f"/admin/casework/detainee/{person.pk}/change/")
    assert response.status_code == 200
    entry = AuditEntry.objects.filter(event="view", object_id=person.pk).latest("id")
    assert entry.actor.username == "admin"
    assert entry.content_type.model == "detainee"
