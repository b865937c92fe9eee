"""gunicorn settings for `make serve` (docs/deploy.md).

Everything can be changed from the environment: BIND, WEB_CONCURRENCY,
GUNICORN_THREADS, GUNICORN_TIMEOUT.
"""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
# The usual rule for a CPU-light app that waits on its database: 2 x cores + 1.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 2))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
# Recycle workers now and then, so a slow leak cannot grow for months.
max_requests = 2000
max_requests_jitter = 200
# Only the proxy on this machine talks to us (docs/deploy.md).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

accesslog = "-"
errorlog = "-"
# The access log keeps the path *without* the query string (a search for a
# person's name is in the query), the status, the size, the time taken, and the
# request id that the error page shows and Django's log lines carry.
access_log_format = '%(h)s [%({x-request-id}o)s] "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
