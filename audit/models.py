"""The audit log: django-auditlog's entry, append-only and hash-chained.

Each entry stores a SHA-256 over its own content and the previous entry's
hash. Editing, removing or reordering any row breaks the chain, which
``manage.py verify_audit`` detects. Database triggers (migration 0002) refuse
UPDATE and DELETE on the table, so the application cannot rewrite history
either; the chain catches an intruder who drops the triggers first.
"""

import datetime as dt
import hashlib
import ipaddress
import json

from auditlog.models import AbstractLogEntry
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework.choices import QuickChoiceDisplay

GENESIS_HASH = "0" * 64
# Key for PostgreSQL's advisory lock: one appender at a time, so the chain never forks.
CHAIN_LOCK_KEY = 7_300_210_042


class AuditEvent(models.TextChoices):
    CHANGE = "change", _("Change")
    VIEW = "view", _("View")
    EXPORT = "export", _("Export")
    IMPORT = "import", _("Import")
    LOGIN = "login", _("Login")
    LOGOUT = "logout", _("Logout")
    LOGIN_FAILED = "login_failed", _("Failed login")
    COMMAND = "command", _("Management command")
    # Two records of one person made one (casework.services.detainee_merge); the entry
    # holds what the merge moved, so the merge can be undone from it.
    MERGE = "merge", _("Merge of two records")
    MERGE_UNDONE = "merge_undone", _("Merge undone")


class AppendOnlyError(Exception):
    pass


class AuditEntry(QuickChoiceDisplay, AbstractLogEntry):
    event = models.CharField(
        _("event"), max_length=20, choices=AuditEvent.choices, default=AuditEvent.CHANGE
    )
    # A deleted user keeps their entries: deleting them is refused instead.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        blank=True,
        null=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    content_type = models.ForeignKey(
        "contenttypes.ContentType",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("content type"),
    )
    prev_hash = models.CharField(_("previous hash"), max_length=64, editable=False)
    entry_hash = models.CharField(_("hash"), max_length=64, editable=False, unique=True)

    class Meta(AbstractLogEntry.Meta):
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "-id"], name="audit_object"),
            models.Index(fields=["actor", "-id"], name="audit_actor"),
            models.Index(fields=["event", "-id"], name="audit_event"),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Audit entries are append-only.")
        using = kwargs.get("using") or "default"
        with transaction.atomic(using=using):
            connection = connections[using]
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
            super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit entries are append-only.")

    def _save_table(
        self,
        raw=False,
        cls=None,
        force_insert=False,
        force_update=False,
        using=None,
        update_fields=None,
    ):
        # Runs after pre_save, where auditlog fills in actor and address, and
        # inside the lock taken in save(): the last hash cannot change under us.
        if self.timestamp is None:
            self.timestamp = timezone.now()
        if self.actor_id is None:
            from .context import current_actor

            actor = current_actor()
            if actor is not None and actor.pk is not None:
                self.actor = actor
                self.actor_email = actor.email or None
        last = (
            type(self)
            .objects.using(using)
            .order_by("-id")
            .values_list("entry_hash", flat=True)
            .first()
        )
        self.prev_hash = last or GENESIS_HASH
        self.entry_hash = compute_hash(content_of(self), self.prev_hash)
        return super()._save_table(raw, cls, force_insert, force_update, using, update_fields)


HASHED_FIELDS = (
    "content_type_id",
    "object_pk",
    "object_id",
    "object_repr",
    "serialized_data",
    "action",
    "changes_text",
    "changes",
    "actor_id",
    "cid",
    "remote_addr",
    "remote_port",
    "timestamp",
    "additional_data",
    "actor_email",
    "event",
)


def _normalise(name, value):
    if value is None:
        return None
    if name == "timestamp":
        return value.astimezone(dt.UTC).isoformat()
    if name == "remote_addr":
        return ipaddress.ip_address(value).compressed
    if name in ("serialized_data", "changes", "additional_data"):
        # Round-trip through the encoder the JSON column uses, so a value
        # hashed before saving equals the value read back.
        return json.loads(json.dumps(value, cls=DjangoJSONEncoder))
    if name in ("object_id", "actor_id", "content_type_id", "action", "remote_port"):
        return int(value)
    return str(value)


def content_of(entry) -> dict:
    return {name: _normalise(name, getattr(entry, name)) for name in HASHED_FIELDS}


def compute_hash(content: dict, prev_hash: str) -> str:
    payload = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()
