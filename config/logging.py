"""Logging pieces: the request id on every line, and nothing personal in it.

The people in this database are at risk, and server logs travel further than
the database does (log shippers, support tickets, backups of /var/log). So a
log line carries the request id, the path and the kind of error, never a
name or what a form held:

- ``RequestIdFilter`` puts the id of the request being served on each record
  (``-`` outside a request), the same id the error page shows the user and
  the ``X-Request-ID`` response header carries to the proxy's log.
- ``WithheldMessageFormatter`` prints a traceback's frames (file, line,
  function, source line) but not the exception's message, which can quote
  the data: PostgreSQL's "Failing row contains (..., Sokha Vannak, ...)".
- ``StripQueryFilter`` drops the query string from the development server's
  request lines: ``/cases/?q=<a name>``.
"""

import contextvars
import logging
import traceback

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = request_id_var.get()
        return True


class StripQueryFilter(logging.Filter):
    """runserver logs '"GET /path?query HTTP/1.1" 200 123': keep the path only."""

    def filter(self, record):
        if record.name == "django.server" and record.args and isinstance(record.args, tuple):
            first = record.args[0]
            if isinstance(first, str) and "?" in first:
                method_path, _, rest = first.partition("?")
                protocol = rest.rsplit(" ", 1)[-1] if " " in rest else ""
                record.args = (f"{method_path} {protocol}".strip(), *record.args[1:])
        return True


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)


class WithheldMessageFormatter(logging.Formatter):
    def formatException(self, ei):
        _, value, _ = ei
        if value is None:
            return ""
        blocks = []
        for exc in reversed(list(_chain(value))):
            frames = "".join(traceback.format_tb(exc.__traceback__))
            kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
            message = str(exc)
            blocks.append(
                "Traceback (most recent call last):\n"
                f"{frames}{kind}: (message withheld, {len(message)} characters)"
            )
        return "\n\nThe above led to:\n\n".join(blocks)

    def formatStack(self, stack_info):
        return stack_info
