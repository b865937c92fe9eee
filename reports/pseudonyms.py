"""Stable pseudonymous ids for anonymised exports.

The same record gets the same id in every anonymised export, so two exports
can be compared (who is still held, which case moved), but the id cannot be
turned back into a record number without the key. The key is derived from
``settings.EXPORT_PSEUDONYM_SECRET`` when set, else from ``SECRET_KEY``:
rotating that secret changes every pseudonym (old and new exports no longer
line up), which is also how to break the link on purpose.
"""

import functools
import hashlib
import hmac

from django.conf import settings

PREFIXES = {"detainee": "P", "case": "C", "user": "U"}
# 12 hex digits = 48 bits: no collision to expect below millions of records.
LENGTH = 12


def _secret() -> str:
    return getattr(settings, "EXPORT_PSEUDONYM_SECRET", "") or settings.SECRET_KEY


@functools.lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    # As django.utils.crypto.salted_hmac derives it, once per secret instead of once per row.
    return hashlib.sha256(("casework.reports.pseudonym" + secret).encode()).digest()


def pseudonym(kind: str, pk: int | None) -> str:
    """``P-3f9c0a1b2c4d`` for detainee 17: HMAC-SHA256 of ``"detainee:17"``, truncated."""
    if pk is None:
        return ""
    digest = hmac.new(_key(_secret()), f"{kind}:{pk}".encode(), hashlib.sha256).hexdigest()
    return f"{PREFIXES[kind]}-{digest[:LENGTH]}"
