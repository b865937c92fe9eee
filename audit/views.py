"""The admins' audit pages: the log, filtered and paged, and the chain check.

The log grows without end, so the list never counts it: it pages by id
(``?before=<id>``), newest first, along the indexes in audit/models.py.
"""

from django.shortcuts import render
from django.views.decorators.http import require_safe

from casework.access import require_role

from .chain import verify
from .forms import AuditFilterForm, VerifyForm
from .models import AuditEntry

PAGE_SIZE = 50


@require_safe
@require_role("admin")
def audit_list(request):
    form = AuditFilterForm(request.GET)
    entries, older_than = [], None
    if form.is_valid():
        rows = form.filter(AuditEntry.objects.select_related("actor", "content_type"))
        # One row more than shown tells whether an older page exists, without a COUNT.
        entries = list(rows.order_by("-id")[: PAGE_SIZE + 1])
        if len(entries) > PAGE_SIZE:
            entries = entries[:PAGE_SIZE]
            older_than = entries[-1].pk
    context = {
        "form": form,
        "entries": entries,
        "older_than": older_than,
        "paged": form.is_valid() and form.cleaned_data["before"] is not None,
        "invalid": not form.is_valid(),
    }
    return render(request, "audit/list.html", context)


@require_safe
@require_role("admin")
def audit_verify(request):
    """Walks the whole chain on each visit; the nightly ``verify_audit`` is the real guard."""
    form = VerifyForm(request.GET)
    verdict = verify(expected_head=form.cleaned_data["expect_head"]) if form.is_valid() else None
    return render(request, "audit/verify.html", {"form": form, "verdict": verdict})
