"""Walking the hash chain: is the log as it was written?"""

from dataclasses import dataclass

from .models import GENESIS_HASH, HASHED_FIELDS, AuditEntry, _normalise, compute_hash


@dataclass
class Verdict:
    ok: bool
    checked: int
    head: str
    entry_id: int | None = None
    problem: str = ""


def verify(expected_head: str | None = None, chunk_size: int = 5000) -> Verdict:
    """Recompute every entry's hash in id order.

    An edited row no longer matches its own hash; a removed or reordered row
    breaks the link from the next entry's ``prev_hash``. A removal at the very
    end leaves a shorter, consistent chain: only a head hash kept outside the
    database (``expected_head``) catches that (docs/audit.md).
    """
    fields = ("id", "prev_hash", "entry_hash", *HASHED_FIELDS)
    previous = GENESIS_HASH
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
                entry_id,
                "its link to the previous entry is broken: an entry before it "
                "was removed, inserted or reordered",
            )
        content = {
            name: _normalise(name, value) for name, value in zip(HASHED_FIELDS, values, strict=True)
        }
        if compute_hash(content, prev_hash) != entry_hash:
            return Verdict(False, checked, previous, entry_id, "its content was altered")
        previous = entry_hash
        checked += 1
        if expected_head is not None and entry_hash == expected_head:
            seen_expected = True
    if not seen_expected:
        return Verdict(
            False,
            checked,
            previous,
            None,
            f"the head hash kept outside the database ({expected_head}) is not in the "
            "chain: entries at the end were removed or the log was rebuilt",
        )
    return Verdict(True, checked, previous)
