"""Exports, each downloaded in its own process (bench/export_worker.py)."""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from django.db import connection

from .inprocess import NOT_AVAILABLE, url_available

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Export:
    key: str
    label: str
    path: str
    kind: str
    wanted: int | None
    result: dict | None = None
    unavailable: str | None = None


def opened_since_for(rows: int) -> str | None:
    """The ``opened_after`` date that selects about ``rows`` cases (None: all of them)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM casework_case")
        total = cursor.fetchone()[0]
        if rows >= total:
            return None
        cursor.execute(
            "SELECT opened_on FROM casework_case ORDER BY opened_on DESC OFFSET %s LIMIT 1",
            [rows - 1],
        )
        return cursor.fetchone()[0].isoformat()


def plan(dossier_person: int) -> list[Export]:
    exports = []
    for key, rows, kind in (("csv_100k", 100_000, "csv"), ("csv_1m", 1_000_000, "csv"),
                            ("xlsx_50k", 50_000, "xlsx")):  # fmt: skip
        since = opened_since_for(rows)
        path = f"/cases/export.{kind}" + (f"?opened_after={since}" if since else "")
        label = f"{kind.upper()} export, {rows:,} cases" + ("" if since else " (all there are)")
        exports.append(Export(key, label, path, kind, rows))
    exports.append(
        Export(
            "pdf",
            "PDF dossier of one person",
            f"/detainees/{dossier_person}/dossier.pdf",
            "pdf",
            None,
        )  # fmt: skip
    )
    for export in exports:
        if not url_available(export.path):
            export.unavailable = NOT_AVAILABLE
    return exports


def run(exports: list[Export], username: str, log=print) -> list[Export]:
    for export in exports:
        if export.unavailable:
            log(f"bench:   {export.label}: {export.unavailable}")
            continue
        done = subprocess.run(  # noqa: S603 - our own worker
            [sys.executable, "-m", "bench.export_worker", username, export.path, export.kind],
            cwd=ROOT,
            env=os.environ,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        last = (done.stdout.strip().splitlines() or [""])[-1]
        try:
            export.result = json.loads(last)
        except ValueError:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            export.result = {"error": f"worker failed: {tail}"[:300]}
        if "error" in export.result:
            export.unavailable = f"error: {export.result['error']}"
        log(f"bench:   {export.label}: {export.result}")
    return exports
