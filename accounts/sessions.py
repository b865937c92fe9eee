"""Session clocks and ending a user's sessions.

Sessions are rows in the database (django.contrib.sessions' db backend), so
every app server sees the same ones and ending them here ends them
everywhere.
"""

import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.utils import timezone

STARTED = "casework_started_at"
SEEN = "casework_seen_at"
PASSWORD_CONFIRMED = "casework_password_confirmed_at"  # noqa: S105 (a session key)

# Write "last seen" at most this often: one session write a minute, not one
# a request. The idle timeout is therefore exact to within this.
SEEN_RESOLUTION = 60


def start_clocks(session, now: float | None = None):
    now = int(now if now is not None else time.time())
    session[STARTED] = now
    session[SEEN] = now


def expired(session, now: float | None = None) -> str | None:
    """'idle' or 'absolute' when the session has run out, else None (and touch it)."""
    now = int(now if now is not None else time.time())
    started, seen = session.get(STARTED), session.get(SEEN)
    if started is None or seen is None:
        start_clocks(session, now)
        return None
    if now - started >= settings.SESSION_ABSOLUTE_TIMEOUT:
        return "absolute"
    if now - seen >= settings.SESSION_IDLE_TIMEOUT:
        return "idle"
    if now - seen >= SEEN_RESOLUTION:
        session[SEEN] = now
    return None


def mark_password_confirmed(session):
    session[PASSWORD_CONFIRMED] = int(time.time())


def password_recently_confirmed(session) -> bool:
    confirmed = session.get(PASSWORD_CONFIRMED)
    return confirmed is not None and time.time() - confirmed < settings.PASSWORD_CONFIRM_SECONDS


def end_sessions_of(user) -> int:
    """Delete every live session signed in as ``user``; returns how many.

    Session data is signed and encoded, so this reads each live session. That
    is one pass over a table of a few hundred rows, and it happens only when
    an admin deactivates someone or resets their second factor.
    """
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get(SESSION_KEY) == str(user.pk):
            session.delete()
            ended += 1
    return ended
