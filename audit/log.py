"""Writing audit entries that are not model changes: views, exports, imports, logins."""

from auditlog.context import auditlog_value
from django.contrib.contenttypes.models import ContentType

from .models import AuditEntry, AuditEvent


def client_address(request) -> str | None:
    if request is None:
        return None
    forwarded = request.headers.get("X-Forwarded-For", "")
    return forwarded.split(",")[0].strip() or request.META.get("REMOTE_ADDR") or None


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
        additional_data=data or None,
    )


def record_view(request, obj) -> AuditEntry:
    return record(AuditEvent.VIEW, request=request, obj=obj)


def record_export(request, *, model, fmt: str, filters: dict, rows: int, anonymised: bool):
    return record(
        AuditEvent.EXPORT,
        request=request,
        model=model,
        data={"format": fmt, "filters": filters, "rows": rows, "anonymised": anonymised},
    )
