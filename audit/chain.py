"""Walking the hash chain: is the log as it was written?"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from .models import GENESIS_HASH, HASHED_FIELDS, AuditEntry, _normalise, compute_hash


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
    """Recompute every entry's hash in id order.

    An edited row no longer matches its own hash; a removed or reordered row
    breaks the link from the next entry's ``prev_hash``. A removal at the very
    end leaves a shorter, consistent chain, and so does a chain recomputed
    from an edited row onwards: only a head hash kept outside the database
    (``expected_head``) catches those (docs/audit.md).
    """
    if expected_head is not None:
        expected_head = expected_head.strip().lower()
    fields = ("id", "prev_hash", "entry_hash", *HASHED_FIELDS)
    previous, previous_id = GENESIS_HASH, None
    checked = 0
    seen_expected = expected_head is None
    rows = AuditEntry.objects.order_by("id").values_list(*fields).iterator(chunk_size=chunk_size)
    for row in rows:
        entry_id, prev_hash, entry_hash, *values = row
        if prev_hash != previous:
            return Verdict(
                False,
                checked,
                previous,
                previous_id,
                entry_id,
                _(
                    "its link to the previous entry (%(previous)s) is broken: an entry "
                    "between them was removed, inserted or moved"
                )
                % {"previous": f"#{previous_id}" if previous_id else _("the start of the log")},
            )
        pairs = zip(HASHED_FIELDS, values, strict=True)
        content = {name: _normalise(name, value) for name, value in pairs}
        if compute_hash(content, prev_hash) != entry_hash:
            return Verdict(
                False, checked, previous, previous_id, entry_id, _("its content was altered")
            )
        previous, previous_id = entry_hash, entry_id
        checked += 1
        if expected_head is not None and entry_hash == expected_head:
            seen_expected = True
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
