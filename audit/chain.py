"""Walking the hash chain: is the log as it was written?"""

from dataclasses import dataclass

from django.db import connection
from django.utils.translation import gettext as _

from .linking import link_pending
from .models import (
    GENESIS_HASH,
    HASHED_FIELDS,
    AuditEntry,
    _normalise,
    compute_hash,
    content_digest,
    link_hash,
)


@dataclass
class Verdict:
    ok: bool
    checked: int
    # The hash of the last intact entry (the genesis hash when there is none).
    head: str
    head_id: int | None = None
    # The first entry that does not check out; None when the problem is at the end.
    entry_id: int | None = None
    problem: str = ""


def verify(expected_head: str | None = None, chunk_size: int = 5000) -> Verdict:
    """Recompute every entry's hash in chain order.

    An edited row no longer matches its content hash; a removed, inserted or
    reordered row breaks the link from the next entry's ``prev_hash`` or the
    run of places; a changed id or place no longer matches the link hash. A
    removal at the very end leaves a shorter, consistent chain, and so does a
    chain recomputed from an edited row onwards: only a head hash kept outside
    the database (``expected_head``) catches those (docs/audit.md).
    """
    # Inside a transaction that wrote entries (the tests), link them first, as
    # its commit would; a check run on its own has nothing pending.
    link_pending(connection)
    if expected_head is not None:
        expected_head = expected_head.strip().lower()
    fields = ("id", "chain_seq", "prev_hash", "entry_hash", "content_hash", *HASHED_FIELDS)
    previous, previous_id, previous_seq = GENESIS_HASH, None, 0
    checked = 0
    seen_expected = expected_head is None
    linked_at_commit = False
    rows = (
        AuditEntry.objects.filter(chain_seq__isnull=False)
        .order_by("chain_seq")
        .values_list(*fields)
        .iterator(chunk_size=chunk_size)
    )

    def failed(entry_id, problem):
        return Verdict(False, checked, previous, previous_id, entry_id, problem)

    for row in rows:
        entry_id, seq, prev_hash, entry_hash, content_hash, *values = row
        if prev_hash != previous or seq != previous_seq + 1:
            return failed(
                entry_id,
                _(
                    "its link to the previous entry (%(previous)s) is broken: an entry "
                    "between them was removed, inserted or moved"
                )
                % {"previous": f"#{previous_id}" if previous_id else _("the start of the log")},
            )
        pairs = zip(HASHED_FIELDS, values, strict=True)
        content = {name: _normalise(name, value) for name, value in pairs}
        if content_hash is None:
            # Written before linking moved to commit time: only ever at the start.
            if linked_at_commit or compute_hash(content, prev_hash) != entry_hash:
                return failed(entry_id, _("its content was altered"))
        else:
            linked_at_commit = True
            if content_digest(content) != content_hash:
                return failed(entry_id, _("its content was altered"))
            if link_hash(prev_hash, seq, entry_id, content_hash) != entry_hash:
                return failed(entry_id, _("its number or its place in the chain was changed"))
        previous, previous_id, previous_seq = entry_hash, entry_id, seq
        checked += 1
        if expected_head is not None and entry_hash == expected_head:
            seen_expected = True
    unlinked = (
        AuditEntry.objects.filter(chain_seq__isnull=True).order_by("id").values_list("id").first()
    )
    if unlinked is not None:
        return failed(
            unlinked[0],
            _("it is not linked into the chain: it was written past the linking trigger"),
        )
    if not seen_expected:
        return Verdict(
            False,
            checked,
            previous,
            previous_id,
            None,
            _(
                "the head hash kept outside the database (%(hash)s) is not in the chain: "
                "entries at the end were removed, or the chain was recomputed after an edit"
            )
            % {"hash": expected_head},
        )
    return Verdict(True, checked, previous, previous_id)


def is_hash(value: str) -> bool:
    """A 64-character hex SHA-256, as ``verify_audit`` prints it."""
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value.lower())
