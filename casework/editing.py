"""Edits that never overwrite what their editor did not change (a three-way merge).

An edit form carries the values it was opened with (its *base*, signed so it
cannot be forged). On save, each field is compared three ways: the base, what
the user sent (*mine*) and what is stored now (*theirs*):

- a field only the user changed is applied;
- a field only someone else changed keeps what is stored;
- a field both changed, to different values, is a conflict: nothing is saved
  and the form shows theirs beside the user's, for the user to choose.

Values are compared in one canonical text form (``canon``), so the form's
cleaned data and a model instance's attributes read alike. The services apply
the merge under a row lock (``services._merge_save``); the forms run the same
comparison first so a conflict is shown with the form, in the pages and the
admin alike.
"""

import dataclasses
import datetime as dt
from collections.abc import Iterable

from django.core import signing
from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

SIGNER_SALT = "casework.editing.base"
OPENED_AT = "_opened_at"


def canon(value) -> str:
    """One text per value: a record by its id, a set of records by their sorted ids,
    a moment in UTC, text with its line ends normalised."""
    if value is None:
        return ""
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, models.QuerySet | list | tuple | set | frozenset):
        return ",".join(sorted(canon(item) for item in value))
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(dt.UTC)
        # To the minute, as every form shows a time: a form round trip is not a change.
        return value.replace(second=0, microsecond=0).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).replace("\r\n", "\n").strip()


def stored_value(instance, name: str):
    """A field's value as stored on ``instance``: ids for relations, no query for them."""
    field = instance._meta.get_field(name)
    if field.many_to_many:
        return list(getattr(instance, name).values_list("pk", flat=True)) if instance.pk else []
    if field.is_relation:
        return getattr(instance, field.attname)
    return getattr(instance, name)


def snapshot(instance, fields: Iterable[str]) -> dict[str, str]:
    return {name: canon(stored_value(instance, name)) for name in fields}


def sign_base(values: dict[str, str]) -> str:
    return signing.dumps(
        {**values, OPENED_AT: timezone.now().isoformat()}, salt=SIGNER_SALT, compress=True
    )


def unsign_base(token: str | None) -> dict[str, str] | None:
    if not token:
        return None
    try:
        return signing.loads(token, salt=SIGNER_SALT)
    except signing.BadSignature:
        return None


@dataclasses.dataclass
class Merge:
    mine: set[str]
    theirs: set[str]
    conflicts: set[str]


def three_way(base: dict[str, str], mine: dict[str, str], theirs: dict[str, str]) -> Merge:
    """Which fields the user changed, which someone else changed, and where both did."""
    mine_changed = {f for f, value in mine.items() if f in base and value != base[f]}
    theirs_changed = {f for f, value in theirs.items() if f in base and value != base[f]}
    conflicts = {f for f in mine_changed & theirs_changed if mine[f] != theirs[f]}
    return Merge(mine_changed, theirs_changed, conflicts)


def check(instance, current, base: dict, fields: list[str], m2m: dict | None = None) -> Merge:
    """Compare the edit of ``instance`` with ``current`` (the row as stored now) against
    ``base``; raise ``ConflictError`` where both changed a field to different values."""
    m2m = m2m or {}
    mine = {f: canon(stored_value(instance, f)) for f in fields}
    mine |= {f: canon(values) for f, values in m2m.items()}
    merge = three_way(base, mine, snapshot(current, [*fields, *m2m]))
    if merge.conflicts:
        raise ConflictError(current, merge, since=base.get(OPENED_AT))
    return merge


def display(instance, name: str) -> str:
    """A field's stored value as a person reads it."""
    field = instance._meta.get_field(name)
    if field.many_to_many:
        return ", ".join(str(item) for item in getattr(instance, name).all()) or "—"
    value = getattr(instance, name)
    if value is None or value == "":
        return "—"
    if field.choices:
        return str(getattr(instance, f"get_{name}_display")())
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, dt.datetime):
        return date_format(timezone.localtime(value), "DATETIME_FORMAT")
    if isinstance(value, dt.date):
        return date_format(value, "DATE_FORMAT")
    return str(value)


@dataclasses.dataclass
class Change:
    name: str
    label: str
    theirs: str
    conflict: bool = False
    yours: str = ""


class ConflictError(Exception):
    """Someone else changed a field this save also changes: nothing was saved."""

    def __init__(self, current, merge: Merge, *, since: str | None = None):
        super().__init__("conflicting edits")
        self.current = current
        self.merge = merge
        self.since = since

    @property
    def changes(self) -> list[Change]:
        """The other person's changes only: what they changed, as stored now."""
        meta = self.current._meta
        return [
            Change(
                name=name,
                label=str(meta.get_field(name).verbose_name),
                theirs=display(self.current, name),
                conflict=name in self.merge.conflicts,
            )
            for name in sorted(self.merge.theirs, key=_field_order(meta))
        ]

    @property
    def editors(self) -> list[tuple[str, dt.datetime]]:
        """Who saved the record since the form was opened, and when (from the audit log)."""
        from audit.models import AuditEntry, AuditEvent

        since = dt.datetime.fromisoformat(self.since) if self.since else None
        entries = AuditEntry.objects.filter(
            content_type__app_label=self.current._meta.app_label,
            content_type__model=self.current._meta.model_name,
            object_id=self.current.pk,
            event=AuditEvent.CHANGE,
        ).select_related("actor")
        if since is not None:
            entries = entries.filter(timestamp__gt=since)
        seen = {}
        for entry in entries.order_by("-id")[:20]:
            name = str(entry.actor) if entry.actor else _("the system")
            seen.setdefault(name, entry.timestamp)
        return list(seen.items())


def _field_order(meta):
    order = {field.name: index for index, field in enumerate(meta.get_fields())}
    return lambda name: order.get(name, 0)
