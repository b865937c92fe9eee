"""Retrying a request whose transaction lost a deadlock or a serialisation conflict.

PostgreSQL ends one of two transactions that wait for each other (SQLSTATE
40P01, deadlock detected) or that cannot both be applied as if one after the
other (40001, serialization failure). Nothing of the ended transaction was
written, so the server can simply run the view again: the user waits a few
milliseconds more instead of seeing an error. After ``DATABASE_RETRY_ATTEMPTS``
tries in all the error goes on to the 503 page (config/views.py), which keeps
what the user typed.

The audit chain itself cannot take part in a deadlock (audit/linking.py); what
is left are two writers taking record locks in opposite orders.
"""

import logging
import random
import time

from django.conf import settings
from django.db import DatabaseError, connections

logger = logging.getLogger("casework.retry")

DEADLOCK = "40P01"
SERIALIZATION_FAILURE = "40001"
RETRYABLE = frozenset({DEADLOCK, SERIALIZATION_FAILURE})
READ_ONLY = "25006"  # read_only_sql_transaction: a standby, or default_transaction_read_only


def sqlstate(exc: BaseException | None) -> str | None:
    """The PostgreSQL error code behind a Django database error, if any."""
    seen = 0
    while exc is not None and seen < 5:
        code = getattr(exc, "sqlstate", None)
        if code:
            return code
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, DatabaseError) and sqlstate(exc) in RETRYABLE


def _open_transactions() -> dict[str, int]:
    return {conn.alias: len(conn.atomic_blocks) for conn in connections.all()}


class RetryOnConflictMiddleware:
    """Run the view again when its transaction was ended by a deadlock or a
    serialisation failure, up to ``DATABASE_RETRY_ATTEMPTS`` times in all."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Transactions already open when the request came in (none on a server; the
        # test's own in the test suite): the view's must all be closed to retry it.
        request._open_transactions = _open_transactions()
        return self.get_response(request)

    def process_exception(self, request, exception):
        match = getattr(request, "resolver_match", None)
        if match is None or not is_retryable(exception):
            return None
        for attempt in range(2, settings.DATABASE_RETRY_ATTEMPTS + 1):
            if _open_transactions() != getattr(request, "_open_transactions", None):
                # Raised inside a transaction the request opened and still holds open
                # (ATOMIC_REQUESTS): only its owner may roll it back and start again.
                return None
            logger.warning(
                "transaction ended by %s, running the view again (try %d of %d)",
                sqlstate(exception),
                attempt,
                settings.DATABASE_RETRY_ATTEMPTS,
            )
            # A short random pause, so the two parties do not meet again at once.
            time.sleep(random.uniform(0.005, 0.05) * attempt)
            for upload in request.FILES.values():
                upload.seek(0)
            try:
                return match.func(request, *match.args, **match.kwargs)
            except DatabaseError as exc:
                if not is_retryable(exc):
                    raise
                exception = exc
        raise exception
