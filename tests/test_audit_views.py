"""The admins' audit pages: /audit/ (filtered, keyset-paged) and /audit/verify/."""

import datetime as dt
import re
import zoneinfo

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.linking import link_pending
from audit.log import record
from audit.models import AuditEntry, AuditEvent
from audit.templatetags.audit_tags import _related_values, change_lines
from casework.models import Case, Charge

from . import factories as f

LIST, VERIFY = "/audit/", "/audit/verify/"
PHNOM_PENH = zoneinfo.ZoneInfo("Asia/Phnom_Penh")


def views_of(obj, count: int, actor=None):
    return [record(AuditEvent.VIEW, actor=actor, obj=obj) for _ in range(count)]


def entry_at(moment: dt.datetime, obj, actor=None) -> AuditEntry:
    """An entry with a chosen time: the log takes the time it is given."""
    return AuditEntry.objects.create(
        event=AuditEvent.VIEW,
        action=AuditEntry.Action.ACCESS,
        content_type=ContentType.objects.get_for_model(obj),
        object_pk=str(obj.pk),
        object_id=obj.pk,
        object_repr=str(obj),
        actor=actor,
        timestamp=moment,
    )


def listed(response) -> list[int]:
    return [entry.pk for entry in response.context["entries"]]


# --- Who may see it ---------------------------------------------------------


@pytest.mark.parametrize("url", [LIST, VERIFY])
def test_anonymous_is_sent_to_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/accounts/login/?next={url}")


@pytest.mark.parametrize("url", [LIST, VERIFY])
def test_coordinator_is_refused(coordinator_client, url):
    assert coordinator_client.get(url).status_code == 403


@pytest.mark.parametrize("url", [LIST, VERIFY])
def test_caseworker_is_refused(caseworker_client, url):
    assert caseworker_client.get(url).status_code == 403


@pytest.mark.parametrize("url", [LIST, VERIFY])
def test_post_is_not_allowed(admin_client_, url):
    assert admin_client_.post(url).status_code == 405


# --- The list ---------------------------------------------------------------


def test_admin_sees_entries_newest_first_with_their_details(admin_client_, admin_user):
    lawyer = f.make_lawyer("Heng Sovann", organisation="Legal aid")
    admin_client_.post(
        f"/admin/casework/lawyer/{lawyer.pk}/delete/", {"post": "yes"}, REMOTE_ADDR="203.0.113.7"
    )

    response = admin_client_.get(LIST)

    assert response.status_code == 200
    entries = response.context["entries"]
    assert listed(response) == sorted(listed(response), reverse=True)
    deleted = entries[0]
    assert deleted.action == AuditEntry.Action.DELETE
    page = response.content.decode()
    assert f'id="entry-{deleted.pk}"' in page
    assert "Heng Sovann" in page
    assert "203.0.113.7" in page
    assert ">admin</a>" in page
    assert "Legal aid</span> → —" in page  # "field: before → after"
    local = deleted.timestamp.astimezone(PHNOM_PENH).strftime("%Y-%m-%d %H:%M:%S")
    assert local in page


def test_changes_show_field_labels_and_choice_names(admin_client_, far_case):
    far_case.status = "charged"
    far_case.save()

    response = admin_client_.get(LIST, {"model": "casework.case", "action": "1"})

    page = response.content.decode()
    assert '<span class="fw-semibold">Status:</span>' in page
    assert "Summoned</span> → Charged" in page


def test_change_lines_skip_empty_reverse_relations_and_show_local_times(caseworker):
    created = AuditEntry.objects.get(
        content_type__model="user", object_id=caseworker.pk, action=AuditEntry.Action.CREATE
    )
    lines = {line.label: line for line in change_lines(created)}

    assert not {"monitored_hearings", "assigned_cases", "opened_cases"} & set(lines)
    assert lines["Role"].after == "Caseworker"
    assert lines["Date joined"].before is None
    local = timezone.localtime(caseworker.date_joined)
    assert lines["Date joined"].after == local.strftime("%-d %b %Y, %H:%M")  # as the pages


def test_failed_login_shows_the_username_tried(admin_client_, client):
    client.post("/accounts/login/", {"username": "sokha", "password": "wrong-password-1"})
    response = admin_client_.get(LIST, {"event": "login_failed"})
    assert len(response.context["entries"]) == 1
    assert "username:</span> sokha" in response.content.decode()


def test_filter_by_actor_username_or_number(admin_client_, admin_user, caseworker, db):
    lawyer = f.make_lawyer()
    mine = views_of(lawyer, 2, actor=caseworker)
    views_of(lawyer, 1, actor=admin_user)

    by_name = admin_client_.get(LIST, {"actor": "caseworker"})
    by_number = admin_client_.get(LIST, {"actor": str(caseworker.pk)})

    expected = [e.pk for e in reversed(mine)]
    assert listed(by_name)[:2] == expected
    assert {e.actor_id for e in by_name.context["entries"]} == {caseworker.pk}
    assert listed(by_number) == listed(by_name)


def test_filter_by_event_and_action(admin_client_, admin_user):
    lawyer = f.make_lawyer()
    view = views_of(lawyer, 1, actor=admin_user)[0]

    response = admin_client_.get(LIST, {"event": "view"})
    assert listed(response) == [view.pk]

    response = admin_client_.get(LIST, {"action": str(AuditEntry.Action.CREATE)})
    assert response.context["entries"]
    assert {e.action for e in response.context["entries"]} == {AuditEntry.Action.CREATE}


def test_filter_by_record_type_and_number(admin_client_, far_case, own_case):
    far_case.title = "Eight officials abroad"
    far_case.save()

    response = admin_client_.get(LIST, {"model": "casework.case", "object_id": far_case.pk})

    entries = response.context["entries"]
    assert [e.action for e in entries] == [AuditEntry.Action.UPDATE, AuditEntry.Action.CREATE]
    assert {(e.content_type.model_class(), e.object_id) for e in entries} == {(Case, far_case.pk)}

    cases = admin_client_.get(LIST, {"model": "casework.case"})
    assert {e.object_id for e in cases.context["entries"]} >= {far_case.pk, own_case.pk}
    assert {e.content_type.model for e in cases.context["entries"]} == {"case"}
    # Each row links to its record's entries with the same filter.
    assert f"?model=casework.case&amp;object_id={far_case.pk}" in cases.content.decode()


def test_filter_by_local_dates(admin_client_, db):
    lawyer = f.make_lawyer()
    # 23:30 in Phnom Penh on 10 January is still 10 January there (16:30 UTC).
    late = entry_at(dt.datetime(2026, 1, 10, 23, 30, tzinfo=PHNOM_PENH), lawyer)
    next_day = entry_at(dt.datetime(2026, 1, 11, 0, 30, tzinfo=PHNOM_PENH), lawyer)
    earlier = entry_at(dt.datetime(2026, 1, 3, 9, 0, tzinfo=PHNOM_PENH), lawyer)

    def between(start, end):
        return listed(admin_client_.get(LIST, {"date_from": start, "date_to": end}))

    assert between("2026-01-10", "2026-01-10") == [late.pk]
    assert between("2026-01-11", "2026-01-11") == [next_day.pk]
    assert between("2026-01-01", "2026-01-10") == [earlier.pk, late.pk]  # by id, newest first
    only_from = listed(admin_client_.get(LIST, {"date_from": "2026-01-11"}))
    assert next_day.pk in only_from
    assert late.pk not in only_from


def test_filters_combine(admin_client_, admin_user, caseworker):
    lawyer, other = f.make_lawyer(), f.make_lawyer()
    wanted = views_of(lawyer, 1, actor=caseworker)
    views_of(other, 1, actor=caseworker)
    views_of(lawyer, 1, actor=admin_user)

    params = {"actor": "caseworker", "event": "view", "model": "casework.lawyer"}
    response = admin_client_.get(LIST, {**params, "object_id": lawyer.pk})
    assert listed(response) == [wanted[0].pk]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"actor": "no-such-person"}, "actor"),
        ({"actor": "99999999999999999999999"}, "actor"),
        ({"event": "teleport"}, "event"),
        ({"action": "seven"}, "action"),
        ({"action": "9"}, "action"),
        ({"model": "casework.nothing"}, "model"),
        ({"model": "auth.permission"}, "model"),
        ({"object_id": "abc"}, "object_id"),
        ({"object_id": "-3"}, "object_id"),
        ({"object_id": "1" * 30}, "object_id"),
        ({"date_from": "10/01/2026x"}, "date_from"),
        ({"date_from": "0001-01-01"}, "date_from"),
        ({"date_to": "9999-12-31"}, "date_to"),
        ({"date_from": "2026-02-01", "date_to": "2026-01-01"}, "date_to"),
        ({"before": "zero"}, "before"),
        ({"before": "0"}, "before"),
    ],
)
def test_bad_filter_gives_a_field_error_and_no_rows(admin_client_, params, field):
    views_of(f.make_lawyer(), 2)

    response = admin_client_.get(LIST, params)

    assert response.status_code == 200
    assert response.context["entries"] == []
    assert field in response.context["form"].errors
    assert "Some filter values were not understood" in response.content.decode()


def test_no_match_says_so(admin_client_, db):
    response = admin_client_.get(LIST, {"event": "import"})
    assert response.status_code == 200
    assert "No entry matches these filters." in response.content.decode()


def test_keyset_pagination_walks_back_50_at_a_time(admin_client_, db):
    lawyer = f.make_lawyer()
    views_of(lawyer, 120)
    all_ids = list(AuditEntry.objects.order_by("-id").values_list("id", flat=True))

    first = admin_client_.get(LIST)
    assert listed(first) == all_ids[:50]
    assert first.context["older_than"] == all_ids[49]
    assert f"?before={all_ids[49]}" in first.content.decode()

    second = admin_client_.get(LIST, {"before": all_ids[49]})
    assert listed(second) == all_ids[50:100]

    third = admin_client_.get(LIST, {"before": all_ids[99]})
    assert listed(third) == all_ids[100:]
    assert third.context["older_than"] is None
    assert "Older" not in third.content.decode()
    assert "Newest" in third.content.decode()


def test_keyset_pagination_keeps_the_filters(admin_client_, admin_user):
    lawyer = f.make_lawyer()
    views_of(lawyer, 55, actor=admin_user)
    ids = list(AuditEntry.objects.filter(event="view").order_by("-id").values_list("id", flat=True))

    first = admin_client_.get(LIST, {"event": "view"})
    assert f"?event=view&amp;before={ids[49]}" in first.content.decode()

    second = admin_client_.get(LIST, {"event": "view", "before": ids[49]})
    assert listed(second) == ids[50:]


def _list_queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST)
    assert response.status_code == 200
    return [q["sql"] for q in queries.captured_queries]


def test_query_count_is_the_same_for_5_and_60_entries(admin_client_, admin_user, caseworker):
    lawyer = f.make_lawyer()
    views_of(lawyer, 5, actor=admin_user)
    _list_queries(admin_client_)  # warm the content type cache
    few = _list_queries(admin_client_)

    # Changes with related records (court, caseworker) and m2m rows, by several actors.
    case = f.make_case("KH-2", caseworker=caseworker)
    case.charges.set(Charge.objects.all()[:2])
    for n in range(25):
        case.title = f"Title {n}"
        case.caseworker = caseworker if n % 2 else admin_user
        case.save()
        record(AuditEvent.VIEW, actor=caseworker if n % 2 else admin_user, obj=case)
    assert AuditEntry.objects.count() >= 60
    many = _list_queries(admin_client_)

    # Rows cost nothing; each kind of record the changes name (here the
    # caseworkers) costs one query for all their names.
    shown = AuditEntry.objects.order_by("-id")[:50]
    kinds = {model for entry in shown for model, _ in _related_values(entry)}
    assert len(kinds) >= 1
    assert len(many) == len(few) + len(kinds)
    assert not [sql for sql in many if "COUNT(" in sql.upper()]


def test_django_admin_shows_an_entry_read_only(admin_client_, far_case):
    far_case.status = "charged"
    far_case.save()
    entry = AuditEntry.objects.filter(content_type__model="case").latest("id")

    response = admin_client_.get(f"/admin/audit/auditentry/{entry.pk}/change/")

    assert response.status_code == 200
    # As the audit pages show a change (audit_tags.entry_changes): labels, not codes.
    page = response.content.decode()
    assert re.search(r"Status:</span> <span[^>]*>Summoned</span> → Charged", page), page
    assert b'name="_save"' not in response.content


# --- The chain check page ---------------------------------------------------


def test_verify_page_shows_intact_and_the_head_hash(admin_client_, db):
    views_of(f.make_lawyer(), 3)
    link_pending(connection)  # as the commit the test never reaches would
    head = AuditEntry.objects.latest("chain_seq")

    response = admin_client_.get(VERIFY)

    assert response.status_code == 200
    assert response.context["verdict"].ok
    page = response.content.decode()
    assert "The audit log is intact." in page
    assert head.entry_hash in page
    assert f"Entry #{head.pk}." in page


def test_verify_page_names_the_altered_entry(admin_client_, db):
    entries = views_of(f.make_lawyer(), 4)
    target = entries[1]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER audit_no_update ON audit_auditentry")
        else:
            cursor.execute("DROP TRIGGER audit_no_update")
        cursor.execute(
            "UPDATE audit_auditentry SET object_repr = %s WHERE id = %s", ["Other", target.pk]
        )

    response = admin_client_.get(VERIFY)

    assert response.status_code == 200
    assert not response.context["verdict"].ok
    page = response.content.decode()
    assert "The audit log failed the check." in page
    assert f"Entry #{target.pk} does not check out: its content was altered." in page


def test_verify_page_checks_against_a_kept_head(admin_client_, db):
    views_of(f.make_lawyer(), 2)
    link_pending(connection)
    kept = AuditEntry.objects.latest("chain_seq").entry_hash

    assert admin_client_.get(VERIFY, {"expect_head": kept}).context["verdict"].ok

    unknown = "ab" * 32
    response = admin_client_.get(VERIFY, {"expect_head": unknown})
    assert not response.context["verdict"].ok
    assert "is not in the chain" in response.content.decode()


def test_verify_page_refuses_a_malformed_head(admin_client_, db):
    response = admin_client_.get(VERIFY, {"expect_head": "not-a-hash"})
    assert response.status_code == 200
    assert response.context["verdict"] is None
    assert "expect_head" in response.context["form"].errors


# The entry's changes as templates/audit/_changes.html wrote them before they were
# written in Python (audit_tags.entry_changes).
CHANGES_TEMPLATE = """{% load i18n audit_tags %}
{% with lines=entry|change_lines details=entry|entry_details %}
{% if lines or details %}
<ul class="list-unstyled small mb-0">
  {% for line in lines %}
  <li><span class="fw-semibold">{{ line.label }}:</span>
    {% if line.kind == "added" %}{% translate "added" %} {{ line.after|truncatechars:200 }}
    {% elif line.kind == "removed" %}{% translate "removed" %} {{ line.after|truncatechars:200 }}
    {% else %}<span class="text-body-secondary">{{ line.before|default_if_none:"—"|truncatechars:200 }}</span> → {{ line.after|default_if_none:"—"|truncatechars:200 }}{% endif %}
  </li>
  {% endfor %}
  {% for key, value in details %}
  <li><span class="fw-semibold">{{ key }}:</span> {{ value|default_if_none:"—"|truncatechars:200 }}</li>
  {% endfor %}
</ul>
{% endif %}
{% endwith %}"""  # noqa: E501


@pytest.mark.parametrize("language", ["en", "km"])
def test_entry_changes_read_as_the_template_wrote_them(admin_user, far_case, language):
    from django.template import engines
    from django.test import SimpleTestCase
    from django.utils import translation

    far_case.status = "charged"
    far_case.summary = "<b>Long</b> " + "ក្រុមហ៊ុន " * 40  # escaped, and cut at 200 characters
    far_case.save()
    far_case.charges.add(Charge.objects.first())
    far_case.charges.remove(Charge.objects.first())
    export = {"format": "csv", "filters": {"q": "x"}}
    record(AuditEvent.EXPORT, actor=admin_user, model=Case, data=export)
    template = engines["django"].from_string(CHANGES_TEMPLATE)
    tag = engines["django"].from_string("{% load audit_tags %}{% entry_changes entry %}")
    entries = list(AuditEntry.objects.order_by("pk"))
    assert len(entries) > 5
    with translation.override(language):
        for entry in entries:
            SimpleTestCase().assertHTMLEqual(
                tag.render({"entry": entry}), template.render({"entry": entry})
            )
