"""Why a target was missed, with this run's own figures (the results file's last section).

Each explanation separates what Python spent (this process's CPU time, in the
same samples as the timings) from what the database spent (the queries' own
times, from the counting pass), so that a reader sees where the time goes
before reading the reasons, which hold for the code as it stands.
"""

from .inprocess import Scenario


def _ms(value) -> str:
    return "—" if value is None else f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _split(s: Scenario) -> str:
    return (
        f"median {_ms(s.median_ms)}: Python CPU {_ms(s.cpu_ms)}, SQL {_ms(s.sql_ms)} "
        f"in {s.queries} queries"
    )


def _top_sql(s: Scenario, n: int = 3) -> str:
    parts = []
    for query in s.slowest_sql[:n]:
        sql = " ".join(query["sql"].split())
        what = sql[:70] + ("…" if len(sql) > 70 else "")
        parts.append(f"{query['ms']:.0f} ms `{what}`")
    return "; ".join(parts)


def _page_cost(s: Scenario) -> str:
    return (
        f"{_split(s)}. Most of the Python time is building and rendering the page: the "
        "filter form (14 fields, selects offering every court, charge, caseworker and "
        "lawyer in scope, drawn in Python by casework/widgets.py), its 50 rows (a template "
        "tag, casework/templatetags/casework.py), the model instances of the rows and their "
        "accused, and the queries' own Python (compiling 13 statements)"
    )


def explain(found, by: dict, exported: dict, http: dict, info: dict, subjects) -> list[str]:
    r1 = by["r1"].median_ms
    cores = info.get("cores") or 1
    load = info.get("load_average", (0,))[0]
    lines = []
    for t in found:
        if t.met:
            continue
        text = None
        s = by.get(t.key)
        if t.key == "list" and s and s.samples:
            text = (
                f"R1 is {_ms(r1)}: the rows, as one statement, with nothing to render. The page: "
                f"{_page_cost(s)}."
            )
        elif t.key in ("q_latin", "q_khmer") and s and s.samples:
            text = (
                f"{_split(s)}. The search runs once, counted with the page's ids "
                "(casework.querysets.CaseQuerySet.matching, a UNION of trigram-indexed name, "
                "reference and court-number matches; casework.paging, COUNT(*) OVER ()): it "
                "must find every matching case to sort them by date, about a thousand for a "
                "common family and given name. The rest is the same page as the list, whose "
                f"Python alone is over the 30 ms. Slowest queries: {_top_sql(s)}."
            )
        elif t.key == "case_long" and s and s.samples:
            short = by.get("case_short")
            text = (
                f"{_split(s)}. 12× R1 is {_ms(12 * r1)}. The page shows the next and the "
                f"latest 50 of the {subjects.long_timeline} timeline entries (the rest on "
                "/cases/<pk>/timeline/), cut in the database; the query count does not grow "
                "with the timeline. A case page with a short timeline takes "
                f"{_ms(short.median_ms if short else None)}: most of the cost is the page "
                "itself (accused with their clocks, charges, lawyers, forms' links) and the "
                "history panel, up to 100 audit entries about the case and its rows."
            )
        elif t.key == "dash_coord" and s and s.samples:
            text = (
                f"{_split(s)}. The coordinator's three provinces hold "
                f"{subjects.coordinator_open:,} open cases; the caseload table counts them "
                "per caseworker from an index alone (every open case in scope is an index "
                "entry to count) and finds those near or past the limit from the open-custody "
                "index, which carries each period's case; the near-limit list reads custody "
                "periods in limit order. Slowest queries: "
                f"{_top_sql(s)}."
            )
        elif t.key in ("reports", "reports_cold"):
            if s is not None and s.samples:
                text = f"{_split(s)}. Slowest queries: {_top_sql(s)}."
            else:
                text = f"/reports/: {t.measured}."
            text += (
                " The page's figures (reports/figures.py) count people, not rows: "
                "COUNT(DISTINCT person) over every accused in scope joined to their case "
                "(1.3 million at M) for custody by province, caseload and cases opened. "
                "They are remembered in the database cache until any record changes. "
                "Past FIGURES_JOB_CASES cases in scope (50,000) a change no longer makes "
                "the page compute them: it shows the latest figures and a job computes "
                'new ones (reports_job, in "Every figure", is the page plus that job).'
            )
        elif t.key.endswith("_rate") and t.key[: -len("_rate")] in exported:
            export = exported[t.key[: -len("_rate")]]
            r = export.result or {}
            if r.get("cpu_s") is not None and r.get("seconds"):
                python_rate = (r.get("rows") or 0) / max(r["cpu_s"], 1e-9)
                text = (
                    f"{r['rows']:,} rows in {r['seconds']:.1f} s, of which the exporting "
                    f"process spent {r['cpu_s']:.1f} s of CPU (Python alone would write "
                    f"{python_rate:,.0f} rows/s); the rest waits for the database. For each "
                    "chunk of 2,000 cases (reports/exports.py) it reads their accused, charges "
                    "and next hearing: rows stored in case-id order, read for cases taken in "
                    "date order, so at random from disk pages, through PostgreSQL's 128 MB of "
                    "shared buffers (Debian's default)."
                )
        elif t.key in ("http_rps", "http_p95") and "error" not in http:
            cpu = by["list_p1"].cpu_ms
            if cpu:
                ceiling = cores * 1000 / cpu
                text = (
                    f"In-process, one case list costs {_ms(cpu)} of Python CPU (and "
                    f"{_ms(by['list_p1'].sql_ms)} of SQL): {cores} cores could serve at most "
                    f"about {ceiling:.0f} requests/s if nothing else ran, before the database, "
                    f"gunicorn and wrk take their share of the same cores; the machine's load "
                    f"average was {load:.1f} at the start. 150 requests/s on two cores needs "
                    "the page under about 10 ms of CPU."
                )
        if text:
            lines.append(f"- **{t.figure}** ({t.measured}): {text}")
    return lines
