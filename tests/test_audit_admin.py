"""The Django admin's read-only audit entry page opens for every kind of entry."""

import pytest
from django.test import Client

from audit.log import audited_command, record_export, record_view
from audit.models import AuditEntry, AuditEvent
from casework.models import Case

from . import factories as f
from .test_security_accounts import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries(admin_client_, admin_user, rf):
    """One entry of each kind: create, update, many-to-many, delete, view, export,
    sign-in and failed sign-in, command."""
    case = f.make_case("KH-2", reference="BTB-0100", title="Before")
    case.title = "After"
    case.save()
    case.charges.set([1, 2])
    case.charges.remove(1)
    lawyer = f.make_lawyer("Ouk Vanna", organisation="Legal aid")
    lawyer.delete()
    request = rf.get("/", REMOTE_ADDR="203.0.113.9")
    request.user = admin_user
    record_view(request, case)
    record_export(
        request, model=Case, fmt="csv", filters={"province": "KH-2"}, rows=1, anonymised=False
    )
    for password in ("wrong-password-xyz", PASSWORD):
        Client().post("/accounts/login/", {"username": "admin", "password": password})
    with audited_command("seed_demo", data={"people": 1}):
        pass
    return AuditEntry.objects.all()


def test_every_kind_of_entry_has_its_admin_page(admin_client_, entries):
    kinds = {(e.event, e.action) for e in entries}
    create, update, delete, access = (
        AuditEntry.Action.CREATE,
        AuditEntry.Action.UPDATE,
        AuditEntry.Action.DELETE,
        AuditEntry.Action.ACCESS,
    )
    assert {
        (AuditEvent.CHANGE, create),
        (AuditEvent.CHANGE, update),
        (AuditEvent.CHANGE, delete),
        (AuditEvent.VIEW, access),
        (AuditEvent.EXPORT, access),
        (AuditEvent.LOGIN, access),
        (AuditEvent.LOGIN_FAILED, access),
        (AuditEvent.COMMAND, access),
    } <= kinds
    m2m = [e for e in entries if any(isinstance(c, dict) for c in (e.changes or {}).values())]
    assert m2m, "a many-to-many change is among them"
    for entry in entries:
        response = admin_client_.get(f"/admin/audit/auditentry/{entry.pk}/change/")
        assert response.status_code == 200, (entry.pk, entry.event, entry.action)


def test_the_admin_page_shows_the_changes_as_the_audit_pages_do(admin_client_, entries):
    update = entries.filter(action=AuditEntry.Action.UPDATE, changes__has_key="title").first()
    page = admin_client_.get(f"/admin/audit/auditentry/{update.pk}/change/").content.decode()
    assert "Before" in page and "After" in page and "→" in page
    m2m = next(e for e in entries if any(isinstance(c, dict) for c in (e.changes or {}).values()))
    page = admin_client_.get(f"/admin/audit/auditentry/{m2m.pk}/change/").content.decode()
    assert "added" in page or "removed" in page


def test_the_admin_list_of_entries_opens(admin_client_, entries):
    assert admin_client_.get("/admin/audit/auditentry/").status_code == 200
