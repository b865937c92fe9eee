"""The production settings, with a workaround only where they fail to start.

`bench/__main__.py` runs collectstatic, and `bench/serve.py` opens a pooled
connection, with config.settings as they are first. When one fails the
benchmark says so in its results, sets the variable below, and works around it
here rather than not measuring at all:

- BENCH_STATIC_UNHASHED=1: collectstatic fails with the manifest storage (in
  November 2026: Chart.js names a source map that is not vendored); static
  files are then served unhashed, which costs a page nothing measurable.
- BENCH_POOL_WITHOUT_CHECK=1: DATABASE_POOL=1 fails to open a connection
  (November 2026: the pool options pass ``check``, which Django 5.2 already
  passes itself, so psycopg_pool raises TypeError); the pool then runs
  without that option and with CONN_HEALTH_CHECKS, which makes Django pass
  the same check.
"""

import os

from config.settings import *  # noqa: F403
from config.settings import DATABASES, STORAGES

if os.environ.get("BENCH_STATIC_UNHASHED") == "1":
    STORAGES = {
        **STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    }

_pool = DATABASES["default"].get("OPTIONS", {}).get("pool")
if os.environ.get("BENCH_POOL_WITHOUT_CHECK") == "1" and isinstance(_pool, dict):
    DATABASES["default"]["OPTIONS"]["pool"] = {k: v for k, v in _pool.items() if k != "check"}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
