"""The audit log: django-auditlog's entry, append-only and hash-chained.

Each entry stores a SHA-256 over its own content (``content_hash``) and a link
hash over the previous entry's hash, its place in the chain, its id and that
content hash (``entry_hash``). Editing, removing or reordering any row breaks
the chain, which ``manage.py verify_audit`` detects. Database triggers
(migration 0002) refuse UPDATE and DELETE on the table, so the application
cannot rewrite history either; the chain catches an intruder who drops the
triggers first.

Linking is the only moment appenders wait for each other, and it lasts an
instant (docs/audit.md, "Linking at commit"): on PostgreSQL an entry is written
unlinked and a deferred trigger (``audit/linking.py``) links it as the last
step of its transaction's commit; on SQLite, where a writing transaction holds
the whole database from its start, an entry is linked as it is written.
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
# Key for PostgreSQL's advisory lock, taken by the linking trigger at commit:
# one linker at a time, so the chain never forks (audit/linking.py).
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
    # Filled when the entry is linked into the chain: at commit on PostgreSQL
    # (audit/linking.py), as it is written on SQLite. Empty only inside the
    # transaction that wrote it. NULL, not "", for the hashes: "not linked yet"
    # must stay apart from any value, and the unique index allows many NULLs.
    chain_seq = models.BigIntegerField(
        _("place in the chain"), null=True, unique=True, editable=False
    )
    prev_hash = models.CharField(  # noqa: DJ001
        _("previous hash"), max_length=64, null=True, editable=False
    )
    entry_hash = models.CharField(  # noqa: DJ001
        _("hash"), max_length=64, null=True, editable=False, unique=True
    )
    # SHA-256 of the content fields (HASHED_FIELDS), computed as the entry is
    # written; empty for entries written before linking moved to commit time,
    # whose entry_hash covers the content directly (docs/audit.md).
    content_hash = models.CharField(  # noqa: DJ001
        _("content hash"), max_length=64, null=True, editable=False
    )

    class Meta(AbstractLogEntry.Meta):
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "-id"], name="audit_object"),
            models.Index(fields=["actor", "-id"], name="audit_actor"),
            models.Index(fields=["event", "-id"], name="audit_event"),
            # The entries waiting for their commit to link them: a handful at most.
            models.Index(
                fields=["id"], condition=models.Q(chain_seq__isnull=True), name="audit_unlinked"
            ),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Audit entries are append-only.")
        using = kwargs.get("using") or "default"
        with transaction.atomic(using=using):
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
        # Runs after pre_save, where auditlog fills in actor and address.
        if self.timestamp is None:
            self.timestamp = timezone.now()
        if self.actor_id is None:
            from .context import current_actor

            actor = current_actor()
            if actor is not None and actor.pk is not None:
                self.actor = actor
                self.actor_email = actor.email or None
        self.content_hash = content_digest(content_of(self))
        self.chain_seq = self.prev_hash = self.entry_hash = None
        if connections[using].vendor != "postgresql":
            # SQLite: this transaction began IMMEDIATE (config/settings.py), so it
            # holds the only write lock until it commits: nobody can link in between.
            # The id is taken here (the next after the last) because the link covers it.
            self._link_now(using)
            force_insert = True
        return super()._save_table(raw, cls, force_insert, force_update, using, update_fields)

    def _link_now(self, using):
        table = self._meta.db_table
        with connections[using].cursor() as cursor:
            # The head and the last id in one query (an empty log has neither).
            cursor.execute(
                f"SELECT (SELECT max(id) FROM {table}), chain_seq, entry_hash FROM {table} "
                "WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1"
            )
            last_id, seq, head_hash = cursor.fetchone() or (None, None, None)
        self.id = (last_id or 0) + 1
        self.chain_seq = (seq or 0) + 1
        self.prev_hash = head_hash or GENESIS_HASH
        self.entry_hash = link_hash(self.prev_hash, self.chain_seq, self.id, self.content_hash)


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


def _payload(content: dict) -> str:
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_digest(content: dict) -> str:
    """SHA-256 of an entry's content fields, as stored in ``content_hash``."""
    return hashlib.sha256(_payload(content).encode("utf-8")).hexdigest()


def link_hash(prev_hash: str, chain_seq: int, entry_id: int, content_hash: str) -> str:
    """An entry's ``entry_hash``: the previous hash, its place, its id and its content.

    The same formula runs in SQL when PostgreSQL links at commit (audit/linking.py).
    """
    text = f"{prev_hash}:{chain_seq}:{entry_id}:{content_hash}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def compute_hash(content: dict, prev_hash: str) -> str:
    """``entry_hash`` of an entry written before linking moved to commit time
    (``content_hash`` empty): the previous hash and the content, nothing else."""
    return hashlib.sha256((prev_hash + _payload(content)).encode("utf-8")).hexdigest()
