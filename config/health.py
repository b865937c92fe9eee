"""``/healthz`` for the load balancer: an answer within two seconds, whatever the
database does.

The check opens its own short-lived connection rather than taking one from the
pool: with the database gone, the pool would make it wait for its full timeout
(10 s), holding a worker thread per probe. Here connecting, the query and the
whole check are each bounded, so a database that hangs (a full disk, a lock on
the catalogue, an address that drops packets) reads as down in under 2 s.
"""

import asyncio

import psycopg
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_safe

# The whole check, connecting included; the load balancer's own timeout is longer.
CHECK_SECONDS = 1.0


async def _postgres_answers(params: dict) -> None:
    async with await psycopg.AsyncConnection.connect(**params, autocommit=True) as conn:
        await conn.execute("SELECT 1")


def _connection_params() -> dict:
    params = connection.get_connection_params()
    for key in ("cursor_factory", "context", "prepare_threshold", "pool", "server_side_binding"):
        params.pop(key, None)
    params["connect_timeout"] = 2  # libpq's least; CHECK_SECONDS bounds it anyway
    params["options"] = f"-c statement_timeout={int(CHECK_SECONDS * 1000)}"
    params["application_name"] = "casework-healthz"
    return params


def database_answers() -> bool:
    try:
        if connection.vendor == "postgresql":
            asyncio.run(
                asyncio.wait_for(_postgres_answers(_connection_params()), CHECK_SECONDS)
            )
        else:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
    except Exception:  # any failure, or the time ran out: the answer is "not ready"
        return False
    return True


@login_not_required
@require_safe
def healthz(request):
    """200 when the database answers, 503 when it does not."""
    if not database_answers():
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})
