"""Who is acting, for writes made outside a request (commands, imports, services).

Inside a request django-auditlog's middleware already names the actor. Our
own context variable covers the other paths without touching auditlog's.
"""

import contextlib
from contextvars import ContextVar

_actor: ContextVar = ContextVar("casework_audit_actor", default=None)


@contextlib.contextmanager
def acting_as(user):
    token = _actor.set(user)
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor():
    return _actor.get()
