"""The audit log's door for other apps.

Writing the entries that are not model changes (views, exports, imports,
logins, management commands; django-auditlog's signals write the changes),
and reading one record's history.
"""

import contextlib
import json

from auditlog.context import auditlog_value
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder

from config.proxies import client_address

from .context import acting_as
from .models import AuditEntry, AuditEvent


def record(
    event: str,
    *,
    actor=None,
    obj=None,
    model=None,
    request=None,
    data: dict | None = None,
    object_repr: str = "",
) -> AuditEntry:
    """Append one entry. ``obj`` is the record concerned; ``model`` a whole table (exports)."""
    if actor is None and request is not None and getattr(request, "user", None) is not None:
        actor = request.user if request.user.is_authenticated else None
    target = obj if obj is not None else model
    content_type = ContentType.objects.get_for_model(target)
    pk = getattr(obj, "pk", None)
    remote_addr = client_address(request)
    if remote_addr is None:
        # Inside a request auditlog's middleware already knows the address.
        remote_addr = (auditlog_value.get(None) or {}).get("remote_addr")
    return AuditEntry.objects.create(
        event=event,
        action=AuditEntry.Action.ACCESS,
        content_type=content_type,
        object_pk=str(pk) if pk is not None else "",
        object_id=pk if isinstance(pk, int) else None,
        object_repr=object_repr
        or (str(obj) if obj is not None else str(target._meta.verbose_name_plural)),
        actor=actor,
        actor_email=getattr(actor, "email", None) if actor is not None else None,
        remote_addr=remote_addr,
        additional_data=_plain(data) or None,
    )


class _Encoder(DjangoJSONEncoder):
    def default(self, o):
        try:
            return super().default(o)
        except TypeError:
            return str(o)  # a model instance in a filter's cleaned data: its name


def _plain(data: dict | None):
    """Dates, decimals and records as JSON text: the column stores plain JSON only."""
    return json.loads(json.dumps(data, cls=_Encoder)) if data else None


def record_view(request, obj) -> AuditEntry:
    return record(AuditEvent.VIEW, request=request, obj=obj)


def record_search(request, *, model, query: dict) -> AuditEntry:
    """A search is a read too, and what was searched for is itself sensitive (a name):
    the entry is about the whole table, so only the admins' audit log shows it, never a
    record's history panel."""
    return record(
        AuditEvent.VIEW,
        request=request,
        model=model,
        object_repr=f"search: {model._meta.verbose_name_plural}",
        data={"search": query},
    )


AUTOCOMPLETE_WINDOW_SECONDS = 60


def record_autocomplete_search(request, *, model, term: str) -> AuditEntry | None:
    """A lookup in the admin's autocomplete (select2: a request per keystroke),
    recorded once per user and form field per minute: the first term of the
    minute, and the field it was typed into. None when the minute already has one.

    The window is kept in the shared cache (the database's ``casework_cache``),
    so every worker and server counts the same minute (docs/audit.md says why).
    """
    from django.core.cache import cache

    field = ".".join(
        request.GET.get(name, "")[:100] for name in ("app_label", "model_name", "field_name")
    )
    user = getattr(request.user, "pk", None)
    if not cache.add(f"audit:autocomplete:{user}:{field}", 1, AUTOCOMPLETE_WINDOW_SECONDS):
        return None
    return record_search(request, model=model, query={"admin autocomplete": term, "field": field})


def record_export(
    request,
    *,
    model,
    fmt: str,
    filters: dict,
    rows: int,
    anonymised: bool,
    outcome: str | None = None,
    extra: dict | None = None,
    actor=None,
):
    """An export: its format, filters, rows and whether names were left out.

    ``outcome`` for an export recorded more than once: ``started`` before the first
    byte of a stream, then ``complete`` or ``incomplete`` (with the rows actually
    sent) when it ends; ``failed`` for a background job that did not finish.
    """
    data = {"format": fmt, "filters": filters, "rows": rows, "anonymised": anonymised}
    if outcome is not None:
        data["outcome"] = outcome
    return record(
        AuditEvent.EXPORT, actor=actor, request=request, model=model, data={**data, **(extra or {})}
    )


def record_command(name: str, *, actor=None, data: dict | None = None) -> AuditEntry:
    """One COMMAND entry naming a management command run (its arguments in ``data``).

    A command is about no single record, so the entry points at the audit log
    itself: its content type is the audit entry's.
    """
    return record(
        AuditEvent.COMMAND,
        actor=actor,
        model=AuditEntry,
        object_repr=name,
        data={"command": name, **(data or {})},
    )


@contextlib.contextmanager
def audited_command(name: str, *, actor=None, data: dict | None = None):
    """Around a command's work: record that it ran, and attribute every change
    made inside to ``actor`` (``None`` for the system)::

        with audited_command("seed_demo", data={"people": 40}):
            ...
    """
    entry = record_command(name, actor=actor, data=data)
    with acting_as(actor):
        yield entry


def history_for(obj, limit: int = 50, *, events=None) -> list[AuditEntry]:
    """The latest entries about one record, newest first.

    Served by the (content_type, object_id, -id) index, with actor and content
    type joined so a history panel runs one query. ``events`` narrows the
    kinds (e.g. ``[AuditEvent.CHANGE]``); all kinds by default. The caller
    decides who may read it (``casework.access.can_see_history``).
    """
    entries = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk
    )
    if events is not None:
        entries = entries.filter(event__in=list(events))
    return list(entries.select_related("actor", "content_type").order_by("-id")[:limit])
