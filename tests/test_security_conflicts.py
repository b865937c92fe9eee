"""Two people editing the same record: the second, stale save is refused with
what changed, and what the second person typed is kept (services._save_versioned).

Case and bail decisions are also covered in tests/test_workspace.py; this file
walks every versioned edit form: case, person, hearing, bail decision, status.
"""

import datetime as dt
import html

import pytest
from django.utils import timezone

from casework.models import BailRequest, Case, Detainee, Hearing

from . import factories as f


def past(days):
    return (timezone.localdate() - dt.timedelta(days=days)).isoformat()


def _case(case, **changes):
    data = {
        "reference": case.reference,
        "province": case.province_id,
        "court": case.court_id,
        "opened_on": case.opened_on.isoformat(),
        "summary": case.summary,
        "version": case.version,
    }
    return f"/cases/{case.pk}/edit/", {**data, **changes}


def _person(case, **changes):
    person = case.accused.first().detainee
    data = {"name_latin": person.name_latin, "sex": person.sex, "version": person.version}
    return f"/detainees/{person.pk}/edit/", {**data, **changes}


def _hearing(case, **changes):
    hearing = case.hearings.first()
    data = {
        "kind": hearing.kind,
        "scheduled_at": timezone.localtime(hearing.scheduled_at).strftime("%Y-%m-%dT%H:%M"),
        "court": hearing.court_id,
        "status": hearing.status,
        "version": hearing.version,
    }
    return f"/hearings/{hearing.pk}/edit/", {**data, **changes}


def _bail(case, **changes):
    bail = case.bail_requests.first() if hasattr(case, "bail_requests") else None
    bail = bail or BailRequest.objects.filter(accused__case=case).first()
    data = {"decision": "pending", "version": bail.version}
    return f"/bail-requests/{bail.pk}/decide/", {**data, **changes}


FORMS = {
    # form: (builder, field the first person changes, field the second one changes)
    "case": (_case, {"summary": "First editor's summary"}, {"summary": "Second editor's text"}),
    "person": (_person, {"occupation": "Farmer"}, {"notes": "Second editor's note"}),
    "hearing": (_hearing, {"notes": "First editor's note"}, {"notes": "Second editor's note"}),
    "bail": (
        _bail,
        {"decision": "denied", "decided_on": past(1)},
        {"decision": "granted", "decided_on": past(1), "reasons": "Second editor's reasons"},
    ),
}

MODELS = {"case": Case, "person": Detainee, "hearing": Hearing, "bail": BailRequest}


@pytest.fixture
def bailed(own_case):
    f.make_bail(own_case.accused.first(), filed_on=past(5))
    return own_case


@pytest.mark.parametrize("form", sorted(FORMS))
def test_stale_save_is_refused_with_what_changed_and_keeps_the_input(
    coordinator_client, caseworker_client, bailed, form
):
    build, first, second = FORMS[form]
    url, opened = build(bailed)  # both open the form at the same version
    _, opened_second = build(bailed)

    assert coordinator_client.post(url, {**opened, **first}).status_code == 302
    stored = MODELS[form].objects.get(pk=int(url.split("/")[2]))
    version_after_first = stored.version

    response = caseworker_client.post(url, {**opened_second, **second})
    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    assert 'id="conflict"' in body
    assert "Someone else saved this record" in body
    typed = next(iter(v for k, v in second.items() if "editor" in str(v)))
    assert typed in body  # kept in the form
    # What the first person saved is shown.
    shown = {"decision": "Denied"}.get(next(iter(first)), next(iter(first.values())))
    assert shown in body

    stored.refresh_from_db()
    assert stored.version == version_after_first  # nothing more was written

    # Saving again from the re-rendered form (now at the stored version) works.
    retry = dict(response.context["form"].data.items())
    assert int(retry["version"]) == version_after_first
    assert caseworker_client.post(url, retry).status_code == 302


def test_stale_status_change_is_refused(coordinator_client, caseworker_client, own_case):
    opened = own_case.version
    post = {"status": "charged", "occurred_on": past(0), "version": opened}
    assert coordinator_client.post(f"/cases/{own_case.pk}/status/", post).status_code == 302
    post["status"] = "dismissed"
    response = caseworker_client.post(f"/cases/{own_case.pk}/status/", post, follow=True)
    assert "Someone else changed this case meanwhile" in response.content.decode()
    own_case.refresh_from_db()
    assert own_case.status == "charged"
