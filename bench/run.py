"""One benchmark run: measure, compare with the targets, write the results."""

import datetime as dt
import json
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from . import data, db, exports, inprocess, mixed, notes, serve

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ROUNDS = {"S": 12, "M": 40, "L": 40}
WRK_SECONDS = {"S": 10, "M": 30, "L": 30}
STATEMENT_TIMEOUT = 120  # seconds; a page with a slower query is reported with the error


def log(message: str) -> None:
    print(message, flush=True)


@dataclass
class Target:
    figure: str
    target: str
    measured: str
    ratio: str
    met: bool | None  # None: could not be measured (counts as not met)
    why: str = ""


def _ms(value) -> str:
    if value is None:
        return "—"
    return (
        f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"
    )


def _other_size_queries(size: str) -> tuple[str, dict] | None:
    """The latest committed results of the other size (S for M and L, M for S)."""
    other = "S" if size in ("M", "L") else "M"
    files = sorted(RESULTS.glob(f"{other}-*.json"))
    if not files:
        return None
    return files[-1].name, json.loads(files[-1].read_text())


def targets(size: str, by: dict, exported: dict, http: dict) -> list[Target]:
    out = []

    def add(key, target):
        target.key = key
        out.append(target)

    r1 = by["r1"].median_ms

    def page(key):
        s = by.get(key)
        return s if s is not None and s.unavailable is None and s.samples else None

    def ratio_target(figure, key, limit, text):
        s = page(key)
        if s is None or not r1:
            why = by[key].unavailable if key in by else "not measured"
            return Target(figure, text, why or "—", "—", None)
        ratio = s.median_ms / r1
        return Target(figure, text, _ms(s.median_ms), f"{ratio:.1f}× R1", ratio <= limit)

    def under(figure, key, limit_ms):
        s = page(key)
        if s is None:
            why = by[key].unavailable if key in by else "not measured"
            return Target(figure, f"≤ {limit_ms} ms median", why or "—", "—", None)
        return Target(
            figure,
            f"≤ {limit_ms} ms median",
            f"{_ms(s.median_ms)} (p95 {_ms(s.p95_ms)})",
            f"{s.median_ms / limit_ms:.2f}× target",
            s.median_ms <= limit_ms,
        )

    add("list", ratio_target("Case list, median", "list_p1", 8, "≤ 8× R1"))
    lst, adm = page("list_p1"), page("admin_changelist")
    if lst and adm:
        speedup = adm.median_ms / lst.median_ms
        add(
            "admin",
            Target(
                "Case list vs Django admin changelist",
                "≥ 2× faster",
                f"{_ms(lst.median_ms)} vs {_ms(adm.median_ms)}",
                f"{speedup:.1f}× faster",
                speedup >= 2,
            ),
        )
    else:
        add("admin", Target("Case list vs Django admin changelist", "≥ 2× faster", "—", "—", None))
    p1000 = page("list_p1000")
    if lst and p1000:
        ratio = p1000.median_ms / lst.median_ms
        add(
            "page1000",
            Target(
                "Case list page 1,000 vs page 1",
                "≤ 1.5×",
                _ms(p1000.median_ms),
                f"{ratio:.2f}×",
                ratio <= 1.5,
                by["list_p1000"].note,
            ),
        )
    else:
        add("page1000", Target("Case list page 1,000 vs page 1", "≤ 1.5×", "—", "—", None))
    other = _other_size_queries(size)
    mine = (by["list_p1"].queries, by["list_p1000"].queries)
    if other is None:
        add(
            "querycount",
            Target(
                "Case list query count, S and M",
                "the same",
                f"{mine[0]} (page 1), {mine[1]} (page 1,000) at {size}",
                "—",
                None,
                "no results of the other size in bench/results yet",
            ),
        )
    else:
        name, theirs = other
        q = theirs["scenarios"]
        them = (q["list_p1"]["queries"], q["list_p1000"]["queries"])
        add(
            "querycount",
            Target(
                "Case list query count, S and M",
                "the same",
                f"{mine[0]} / {mine[1]} at {size}; {them[0]} / {them[1]} in {name}",
                "—",
                mine == them,
            ),
        )
    add("q_latin", under("q search, Latin script", "q_latin", 30))
    add("q_khmer", under("q search, Khmer script", "q_khmer", 30))
    add(
        "case_long",
        ratio_target(
            f"Case page, long timeline ({by['case_long'].label.split('of ')[-1]})",
            "case_long",
            12,
            "≤ 12× R1",
        ),
    )
    long_q, short_q = by["case_long"].queries, by["case_short"].queries
    add(
        "timeline_queries",
        Target(
            "Case page query count vs timeline length",
            "independent",
            f"{long_q} ({by['case_long'].label.split('of ')[-1]}), "
            f"{short_q} ({by['case_short'].label.split('of ')[-1]})",
            "—",
            None if long_q is None or short_q is None else long_q == short_q,
        ),
    )
    add("dash_coord", under("Coordinator dashboard", "dash_coord", 200))
    add("reports", under("Reports page (figures remembered)", "reports", 500))
    # The same target right after any change to the records: the figures are then computed
    # by a job (reports_job, in "Every figure"), the page shows the latest ones meanwhile.
    add("reports_cold", under("Reports page after a change", "reports_cold", 500))
    # The target holds at L; smaller sizes show the same figure on fewer entries.
    add("history", under("One case's audit history (history_for), target at L", "history", 5))
    for key, rate, growth in (("csv_100k", 50_000, 20), ("csv_1m", 50_000, 20),
                              ("xlsx_50k", 4_000, 30)):  # fmt: skip
        export = exported[key]
        if export.unavailable or not export.result:
            add(f"{key}_rate", Target(f"{export.label}: rows/s", f"≥ {rate:,} rows/s",
                                          export.unavailable or "—", "—", None))  # fmt: skip
            add(f"{key}_memory", Target(f"{export.label}: memory growth", f"≤ {growth} MB",
                                        export.unavailable or "—", "—", None))  # fmt: skip
            continue
        r = export.result
        per_second = (r["rows"] or 0) / r["seconds"]
        add(
            f"{key}_rate",
            Target(
                f"{export.label}: rows/s",
                f"≥ {rate:,} rows/s",
                f"{per_second:,.0f} rows/s ({r['rows']:,} rows in {r['seconds']:.1f} s)",
                f"{per_second / rate:.2f}× target",
                per_second >= rate,
            ),
        )
        add(
            f"{key}_memory",
            Target(
                f"{export.label}: memory growth",
                f"≤ {growth} MB",
                f"{r['growth_mb']:.1f} MB",
                f"{r['growth_mb'] / growth:.2f}× target",
                r["growth_mb"] <= growth,
            ),
        )
    pdf = exported["pdf"]
    if pdf.unavailable or not pdf.result:
        add("pdf", Target("PDF dossier", "≤ 2 s", pdf.unavailable or "—", "—", None))
    else:
        seconds = pdf.result["seconds"]
        add("pdf", Target("PDF dossier", "≤ 2 s", f"{seconds:.2f} s", f"{seconds / 2:.2f}× target",
                          seconds <= 2))  # fmt: skip
    if "error" in http:
        add(
            "http_rps",
            Target("HTTP case list: requests/s", "≥ 150 req/s", http["error"], "—", None),
        )
        add("http_p95", Target("HTTP case list: p95", "≤ 100 ms", http["error"], "—", None))
    else:
        bad = http["not_200"] + http["errors"]
        add(
            "http_rps",
            Target(
                "HTTP case list: requests/s",
                "≥ 150 req/s",
                f"{http['rps']:.0f} req/s ({http['requests']:,} in {http['seconds']} s"
                + (f", {bad} not 200" if bad else "")
                + ")",
                f"{http['rps'] / 150:.2f}× target",
                http["rps"] >= 150 and bad == 0,
            ),
        )
        add(
            "http_p95",
            Target(
                "HTTP case list: p95",
                "≤ 100 ms",
                f"{http['p95_ms']:.0f} ms (p50 {http['p50_ms']:.0f}, p99 {http['p99_ms']:.0f})",
                f"{http['p95_ms'] / 100:.2f}× target",
                http["p95_ms"] <= 100 and bad == 0,
            ),
        )
    return out


def mixed_targets(result: dict) -> list[Target]:
    """Each page's p95 while an import job and an export job of every case run, against
    the same page on the idle server (bench/mixed.py): at most twice."""
    out = []
    for name, page in result.get("pages", {}).items():
        target = Target(f"Mixed load: {name} p95, jobs running vs idle", "≤ 2× idle", "—", "", None)
        target.key = f"mixed_{name.replace(' ', '_')}"
        loaded = page["load_p95_ms"]
        jobs = ", ".join(
            f"{kind} {job['status']}" + (f" in {job['seconds']:.0f} s" if job["seconds"] else "")
            for kind, job in result["jobs"].items()
        )
        if loaded is None or result.get("error"):
            target.why = result.get("error", "not timed under load")
        else:
            ratio = loaded / page["idle_p95_ms"]
            target.measured = (
                f"{loaded:.0f} ms vs {page['idle_p95_ms']:.0f} ms idle "
                f"({page['load_requests']} requests; {jobs})"
            )
            target.ratio = f"{ratio:.2f}×"
            target.met = ratio <= 2
        out.append(target)
    if not out:
        target = Target("Mixed load: pages while jobs run", "≤ 2× idle", "—", "", None)
        target.key = "mixed"
        target.why = result.get("error", "not measured")
        out.append(target)
    return out


def machine(url: str) -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
    except (OSError, IndexError, ValueError):
        mem_kb = 0
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "postgresql": db.server_version(url),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }


def write(size, when, info, loaded, subjects, items, exported, http, found, static_problem):
    folder = RESULTS
    if only():
        # A partial tuning run never overwrites the committed results.
        folder = Path(tempfile.gettempdir()) / "casework-bench"
    folder.mkdir(exist_ok=True)
    stem = folder / f"{size}-{when:%Y-%m-%d}"
    met = sum(1 for t in found if t.met)
    lines = [
        f"# Benchmark {size}, {when:%Y-%m-%d %H:%M} UTC",
        "",
        f"**{met}/{len(found)} targets met.** Produced by `BENCH_SIZE={size} make bench` "
        "(bench/README.md); medians and p95 over "
        f"{ROUNDS[size]} interleaved rounds after 3 warm-up rounds, in one process with "
        "production settings (DEBUG off).",
        "",
        f"Machine: {info['cores']} cores ({info['cpu']}), {info['ram_gb']} GB RAM, "
        f"PostgreSQL {info['postgresql']}, Python {info['python']}; load average "
        f"{info['load_average'][0]:.2f} at the start, {info['load_average_end'][0]:.2f} at the end "
        "(the machine is shared).",
        "",
        "Data: "
        + ", ".join(f"{n:,} {t.split('_', 1)[1]}" for t, n in loaded["counts"].items())
        + f" (loaded {loaded.get('loaded_on')}, in {loaded.get('loaded_in_s')} s).",
        "",
        "## Targets",
        "",
        "| Figure | Target | Measured | Ratio | Met |",
        "| --- | --- | --- | --- | --- |",
    ]
    for t in found:
        mark = "yes" if t.met else ("**no**" if t.met is False else "**not measured**")
        measured = t.measured + (f" — {t.why}" if t.why else "")
        lines.append(f"| {t.figure} | {t.target} | {measured} | {t.ratio} | {mark} |")
    r1 = next(s for s in items if s.key == "r1").median_ms
    lines += [
        "",
        "## Every figure",
        "",
        "Python CPU is this process's CPU time in the same samples (median); SQL is the "
        "queries' own time in one more pass.",
        "",
        "| Figure | Median | p95 | × R1 | Python CPU | SQL | Queries | Note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in items:
        if s.unavailable:
            lines.append(f"| {s.label} | {s.unavailable} | | | | | | |")
            continue
        times_r1 = f"{s.median_ms / r1:.1f}" if r1 else "—"
        lines.append(
            f"| {s.label} | {_ms(s.median_ms)} | {_ms(s.p95_ms)} | {times_r1} | "
            f"{_ms(s.cpu_ms)} | {_ms(s.sql_ms)} | "
            f"{s.queries if s.queries is not None else '—'} | {s.note} |"
        )
    for e in exported.values():
        if e.unavailable or not e.result:
            lines.append(f"| {e.label} (`{e.path}`) | {e.unavailable} | | | | | | |")
        else:
            r = e.result
            rate = f", {r['rows'] / r['seconds']:,.0f} rows/s" if r.get("rows") else ""
            cpu = f"{r['cpu_s']:.2f} s" if r.get("cpu_s") is not None else ""
            lines.append(
                f"| {e.label} (`{e.path}`) | {r['seconds']:.2f} s{rate} | | | {cpu} | | | "
                f"memory +{r['growth_mb']:.1f} MB, {r['bytes']:,} bytes |"
            )
    if "error" in http:
        lines.append(f"| HTTP case list (wrk -t2 -c8) | {http['error']} | | | | | | |")
    else:
        lines.append(
            f"| HTTP case list (wrk -t2 -c8 -d{http['seconds']}s) | p50 {http['p50_ms']:.0f} ms | "
            f"{http['p95_ms']:.0f} ms | | | | | {http['rps']:.0f} req/s, gunicorn "
            f"{http['workers']} workers |"
        )
    lines += [
        "",
        "## How",
        "",
        f"- Case list: `/cases/?province={subjects.province_code}&status={subjects.status}` "
        f"({subjects.rows:,} matching cases), signed in as an admin; the coordinator's list "
        "covers Phnom Penh, Battambang and Kandal.",
        "- R1: the same 50 rows with every column the page shows (accused names in both "
        "scripts, province, status, caseworker, next hearing, legal-limit flag) in one SQL "
        "statement, raw psycopg, one persistent connection. It does not count the matching "
        "rows; the page does.",
        "- Admin changelist: `/admin/casework/case/?province__id__exact=...&status__exact=...`.",
        "- Exports run in a fresh process each; memory growth is the peak resident size "
        "during the download minus the size before it.",
        f"- HTTP: `gunicorn {http.get('command', '')}` with DEBUG=0 and DATABASE_POOL=1; "
        "wrk with the admin's session cookie and `X-Forwarded-Proto: https` (as the TLS proxy "
        "sends it)."
        + (f" `make serve` runs: `{http['make_serve']}`." if http.get("make_serve") else ""),
        "- Audit entries are generated with unique hashes that do not chain: "
        "never run verify_audit on a benchmark database.",
    ]
    if http.get("pool_problem"):
        lines.append(
            "- **DATABASE_POOL=1 fails with the production settings** "
            f"(`{http['pool_problem']}`); gunicorn ran with the workaround in bench/settings.py."
        )
    if static_problem:
        lines.append(
            "- **collectstatic fails with the production settings** "
            f"({static_problem}); this run served static files unhashed (bench/settings.py)."
        )
    missed = notes.explain(found, {s.key: s for s in items}, exported, http, info, subjects)
    if missed:
        lines += ["", "## Why targets were missed", "", *missed]
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    record = {
        "size": size,
        "date": when.isoformat(),
        "machine": info,
        "counts": loaded["counts"],
        "targets": [t.__dict__ for t in found],
        "scenarios": {
            s.key: {
                "label": s.label,
                "median_ms": s.median_ms,
                "p95_ms": s.p95_ms,
                "queries": s.queries,
                "cpu_ms": s.cpu_ms,
                "sql_ms": s.sql_ms,
                "samples": len(s.samples),
                "unavailable": s.unavailable,
            }
            for s in items
        },
        "exports": {
            k: {"path": e.path, "result": e.result, "unavailable": e.unavailable}
            for k, e in exported.items()
        },  # fmt: skip
        "http": http,
    }
    stem.with_suffix(".json").write_text(json.dumps(record, indent=1, default=str) + "\n")
    # The slowest queries of each page, for whoever tunes next (not committed).
    debug = Path(__file__).resolve().parent / "data"
    debug.mkdir(exist_ok=True)
    (debug / f"{size}-queries.json").write_text(
        json.dumps({s.key: s.slowest_sql for s in items}, indent=1, ensure_ascii=False)
    )
    return stem.with_suffix(".md")


def only() -> set[str]:
    """BENCH_ONLY=list_p1,q_latin,csv_100k,http: measure just these while tuning
    (R1 always); the results then go to a temporary folder, not bench/results."""
    return {part.strip() for part in os.environ.get("BENCH_ONLY", "").split(",") if part.strip()}


def session_cookie(client) -> str:
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def everything(*, size, url, loaded, started, static_problem) -> int:
    when = dt.datetime.now(dt.UTC)
    info = machine(url)
    if loaded["core"] or loaded["audit"]:
        data.check(log=log)
    log("bench: measuring in-process ...")
    inprocess.statement_timeout(STATEMENT_TIMEOUT)
    users, clients = inprocess.personas()
    subjects = inprocess.find_subjects()
    items, r1_conn = inprocess.scenarios(clients, users, subjects, db.connect_args(url))
    if only():
        for s in items:
            if s.key != "r1" and s.key not in only():
                s.unavailable = "skipped (BENCH_ONLY)"
    rounds = int(os.environ.get("BENCH_ROUNDS", ROUNDS[size]))
    inprocess.measure(items, rounds=rounds, log=log)
    r1_conn.close()
    by = {s.key: s for s in items}
    for s in items:
        if s.unavailable:
            log(f"bench:   {s.key:18} {s.unavailable}")
        else:
            log(f"bench:   {s.key:18} median {_ms(s.median_ms):>9}  p95 {_ms(s.p95_ms):>9}  "
                f"queries {s.queries}")  # fmt: skip
    # BENCH_SKIP=exports,http leaves parts out while tuning; the results then say so.
    skip = {part.strip() for part in os.environ.get("BENCH_SKIP", "").split(",") if part.strip()}
    log("bench: exports, each in its own process ...")
    planned = exports.plan(subjects.dossier_person)
    for export in planned:
        if "exports" in skip:
            export.unavailable = "skipped (BENCH_SKIP)"
        elif only() and export.key not in only():
            export.unavailable = "skipped (BENCH_ONLY)"
    exported = {e.key: e for e in exports.run(planned, users["admin"].username, log=log)}
    log("bench: HTTP case list under gunicorn + wrk ...")
    listing = f"/cases/?province={subjects.province_code}&status={subjects.status}"
    if "http" in skip or (only() and "http" not in only()):
        http = {"error": "skipped (BENCH_SKIP)"}
    else:
        http = serve.case_list(
            listing, session_cookie(clients["admin"]), seconds=WRK_SECONDS[size], log=log
        )
    log(
        "bench:   " + (http.get("error") or f"{http['rps']:.0f} req/s, p95 {http['p95_ms']:.0f} ms")
    )
    if "mixed" in skip or (only() and "mixed" not in only()):
        mixed_load = {"error": "skipped (BENCH_SKIP)"}
    else:
        log("bench: mixed load: the case list and a case page while jobs run ...")
        mixed_load = mixed.measure(
            size=size,
            cookie=session_cookie(clients["admin"]),
            admin=users["admin"],
            case_list=listing,
            case_page=f"/cases/{subjects.short_case}/",
            log=log,
        )
    info["load_average_end"] = os.getloadavg()
    found = targets(size, by, exported, http) + mixed_targets(mixed_load)
    path = write(size, when, info, loaded, subjects, items, exported, http, found, static_problem)
    log("")
    log(f"| {'Figure':58} | {'Target':18} | {'Measured':40} | Met |")
    for t in found:
        mark = "yes" if t.met else ("NO" if t.met is False else "n/a")
        log(f"| {t.figure[:58]:58} | {t.target[:18]:18} | {t.measured[:40]:40} | {mark} |")
    log(f"bench: results in {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    log(f"bench: whole run {time.perf_counter() - started:.0f} s")
    met = sum(1 for t in found if t.met)
    print(f"bench: {met}/{len(found)} targets met", flush=True)
    return 0
