"""Benchmark data, generated inside PostgreSQL with INSERT ... SELECT generate_series.

Nothing here goes row by row through Python: each table is one statement (or a
few), with its secondary indexes and unique constraints dropped during the load
and rebuilt after it, foreign-key triggers off (``session_replication_role =
replica``; the generator keeps every reference valid and ``check()`` samples
them), then ``VACUUM ANALYZE``.

What the data looks like (all fictional, built from casework/demo.py's word
lists):

- A few provinces hold most cases (demo.PROVINCE_WEIGHTS: Phnom Penh 22 %,
  Battambang 12 %, Kandal 10 % ...); about 40 % of cases are closed; cases
  opened over 15 years, denser in recent ones.
- 1-6 accused per case (78 % one); people appear in several cases.
- Names in Latin and Khmer script (10 % without Khmer), a third with
  aliases; ``search_text`` is exactly what casework.names.fold would store
  (lower-case Latin, Khmer as typed, whitespace collapsed). ``name_keys``
  (duplicate warnings, and `q` search by other spellings since issue 13) is left
  empty: the q targets measure the literal search plus a trigram probe of an
  index of empty keys, not the cost of many spelling matches.
- Hearings: exponential count per case (mean 3), plus a few cases with
  hundreds (the long-timeline case). Past ones held / postponed / cancelled,
  future ones scheduled over the next 60 days.
- Custody periods with ``runs_out_at`` computed in SQL from the legal limit as
  DetentionLimit.runs_out does (local time, calendar months), so some are near
  or past the limit; ``BailRequest.case_id`` and ``CustodyPeriod.case_id`` copied
  from the accused (a database loaded before the custody case existed gets it
  from migration 0007, the same values);
  ``Case.updated_at`` recent for most open cases, older for the rest.
- Audit entries: Case / Detainee / Hearing / BailRequest content types,
  object ids spread over existing rows, actors among the staff, change and
  view events. Their hashes are unique but do NOT chain over their content:
  never run verify_audit on a benchmark database.

The generator is deterministic (setseed) and dates are relative to the day of
the load.
"""

import json
import time

import psycopg

GENERATOR_VERSION = 5

CORE = {
    "S": {
        "cases": 20_000,
        "people": 12_000,
        "hearings": 60_000,
        "bail": 10_000,
        "events": 20_000,
        "long_cases": 3,
    },
    "M": {
        "cases": 1_000_000,
        "people": 600_000,
        "hearings": 3_000_000,
        "bail": 500_000,
        "events": 1_000_000,
        "long_cases": 12,
    },
}
CORE["L"] = CORE["M"]
AUDIT_ROWS = {"S": 60_000, "M": 3_000_000, "L": 13_000_000}

LONG_HEARINGS = (250, 700)  # hearings on each long-timeline case
CASEWORKERS = 150
LAWYERS = 300
TZ = "Asia/Phnom_Penh"

# The coordinator measured: three of the biggest provinces.
COORDINATOR_PROVINCES = ["KH-12", "KH-2", "KH-8"]
CASEWORKER_PROVINCE = "KH-2"


def log(message: str) -> None:
    print(f"bench: {message}", flush=True)


# --- bench_meta -----------------------------------------------------------


def meta_get(conn, key: str):
    conn.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value jsonb)")
    row = conn.execute("SELECT value FROM bench_meta WHERE key = %s", [key]).fetchone()
    return row[0] if row else None


def meta_set(conn, key: str, value) -> None:
    conn.execute(
        "INSERT INTO bench_meta (key, value) VALUES (%s, %s) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, json.dumps(value)],
    )


def core_signature(size: str) -> dict:
    return {"version": GENERATOR_VERSION, **CORE[size]}


def needs_core(conn, size: str) -> bool:
    return meta_get(conn, "core") != core_signature(size)


def core_matches(url_args: dict, size: str) -> bool:
    """The database already holds this size's cases, people, hearings... (audit aside)."""
    with psycopg.connect(**url_args, autocommit=True) as conn:
        return not needs_core(conn, size)


# --- Loading helpers ------------------------------------------------------


def _secondary(conn, table: str) -> list[tuple[str, str, str]]:
    """Unique constraints and indexes other than the primary key: (kind, name, sql)."""
    constraints = conn.execute(
        """
        SELECT conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
        WHERE t.relname = %s AND c.contype = 'u'
        """,
        [table],
    ).fetchall()
    indexes = conn.execute(
        """
        SELECT i.relname, pg_get_indexdef(i.oid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname = %s AND NOT x.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
        """,
        [table],
    ).fetchall()
    return [("constraint", n, d) for n, d in constraints] + [("index", n, d) for n, d in indexes]


class BulkLoad:
    """Drop a table's secondary indexes for the load, rebuild them after."""

    def __init__(self, conn, *tables):
        self.conn = conn
        self.tables = tables
        self.saved = []

    def __enter__(self):
        for table in self.tables:
            for kind, name, definition in _secondary(self.conn, table):
                self.saved.append((table, kind, name, definition))
                if kind == "constraint":
                    self.conn.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
                else:
                    self.conn.execute(f'DROP INDEX "{name}"')
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            return False
        for table, kind, name, definition in self.saved:
            if kind == "constraint":
                self.conn.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
            else:
                self.conn.execute(definition)
        for table in self.tables:
            self.conn.execute(f'ANALYZE "{table}"')  # the next steps join on it
        return False


def _step(conn, label: str, statement: str, params=None) -> int:
    started = time.perf_counter()
    cursor = conn.execute(statement, params or None)
    rows = cursor.rowcount
    log(f"  {label}: {rows:,} rows in {time.perf_counter() - started:.1f} s")
    return rows


def _session(conn) -> None:
    conn.execute("SET session_replication_role = replica")  # no FK triggers during the load
    conn.execute("SET max_parallel_workers_per_gather = 0")  # random() in a stable order
    conn.execute("SET work_mem = '256MB'")
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("SET synchronous_commit = off")


def _setval(conn, table: str) -> None:
    conn.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
        f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
    )


# --- Reference lookups ----------------------------------------------------


def _province_slots(conn) -> None:
    """1000 slots, each a province in proportion to its weight: a weighted pick is one join."""
    from casework import demo

    weights = demo.PROVINCE_WEIGHTS
    total = sum(weights.values())
    conn.execute(
        "CREATE TEMP TABLE bench_slot (slot int PRIMARY KEY, province_id bigint, court_id bigint)"
    )
    provinces = dict(conn.execute("SELECT code, id FROM casework_province").fetchall())
    courts = dict(
        conn.execute(
            "SELECT province_id, id FROM casework_court WHERE level = 'first_instance'"
        ).fetchall()
    )
    rows, start = [], 0
    ordered = sorted(weights.items(), key=lambda kv: -kv[1])
    for index, (code, weight) in enumerate(ordered):
        end = 1000 if index == len(ordered) - 1 else start + round(1000 * weight / total)
        for slot in range(start, end):
            rows.append((slot, provinces[code], courts[provinces[code]]))
        start = end
    with conn.cursor() as cursor:
        cursor.executemany("INSERT INTO bench_slot VALUES (%s, %s, %s)", rows)


def _users(conn) -> None:
    """Staff: one admin, coordinators over groups of provinces, caseworkers per province."""
    from casework import demo

    provinces = dict(conn.execute("SELECT code, id FROM casework_province").fetchall())
    weights = demo.PROVINCE_WEIGHTS
    total = sum(weights.values())
    users = [("bench-admin", "admin", [], "Bench", "Admin")]
    others = [c for c in provinces if c not in COORDINATOR_PROVINCES]
    users.append(
        ("bench-coordinator", "coordinator", COORDINATOR_PROVINCES, "Bench", "Coordinator")
    )
    for n, start in enumerate(range(0, len(others), 3), start=2):
        users.append(
            (
                f"bench-coordinator-{n:02}",
                "coordinator",
                others[start : start + 3],
                "Bench",
                "Coord",
            )
        )
    for code, weight in sorted(weights.items()):
        count = max(1, round(CASEWORKERS * weight / total))
        for n in range(1, count + 1):
            username = f"bench-cw-{code.lower()}-{n:02}"
            users.append((username, "caseworker", [code], "Caseworker", f"{code} {n:02}"))
    with conn.cursor() as cursor:
        for username, role, codes, first, last in users:
            user_id = cursor.execute(
                """
                INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name,
                    email, is_staff, is_active, date_joined, role, language)
                VALUES ('!bench-unusable', false, %s, %s, %s, %s, %s, true, now(), %s, '')
                RETURNING id
                """,
                [username, first, last, f"{username}@example.org", role == "admin", role],
            ).fetchone()[0]
            for code in codes:
                cursor.execute(
                    "INSERT INTO accounts_user_provinces (user_id, province_id) VALUES (%s, %s)",
                    [user_id, provinces[code]],
                )
    # Caseworkers of each province, as an array to pick from.
    conn.execute(
        """
        CREATE TEMP TABLE bench_staff AS
        SELECT up.province_id, array_agg(u.id ORDER BY u.id) AS ids, count(*)::int AS n
        FROM accounts_user u JOIN accounts_user_provinces up ON up.user_id = u.id
        WHERE u.role = 'caseworker' AND u.username LIKE 'bench-%'
        GROUP BY up.province_id
        """
    )


def _arrays() -> dict:
    from casework import demo
    from casework.models import nfc

    fam = demo.FAMILY_NAMES
    giv = demo.GIVEN_NAMES
    return {
        "fam_lat": [nfc(f[0]) for f in fam],
        "fam_km": [nfc(f[1]) for f in fam],
        "fam_alias": [nfc(f[2][0]) for f in fam],
        "giv_lat": [nfc(g[0]) for g in giv],
        "giv_km": [nfc(g[1]) for g in giv],
        "giv_sex": [g[2] for g in giv],
        "giv_alias": [nfc(g[3][0]) for g in giv],
        "affiliations": [a for a, _ in demo.AFFILIATIONS],
        "roles": [r for r, _ in demo.FORMER_ROLES],
        "occupations": [o for o, _ in demo.OCCUPATIONS],
        "triggers": list(demo.TRIGGERS),
        "relations": list(demo.RELATIONS),
        "orgs": [o for o, _ in demo.LAWYER_ORGANISATIONS],
    }


# --- The tables -----------------------------------------------------------


def _people(conn, n: int, arrays: dict) -> None:
    conn.execute("SELECT setseed(0.11)")
    with BulkLoad(conn, "casework_detainee"):
        _step(
            conn,
            "people",
            r"""
            INSERT INTO casework_detainee (id, name_latin, name_khmer, aliases, sex, birth_year,
                birth_date, affiliation, former_role, occupation, place_held, family_contact,
                whereabouts, notes, search_text, name_keys, created_at, updated_at, version,
                home_province_id)
            SELECT g, latin, khmer, aliases, sex, birth_year, NULL, affiliation, former_role,
                occupation, place_held, family_contact, '', '',
                -- casework.names.fold: lower-case (the lists are plain ASCII Latin), Khmer as
                -- typed, every run of whitespace one space.
                regexp_replace(btrim(lower(latin || ' ' || khmer || ' ' || aliases)), '\s+', ' ',
                    'g'),
                '', created_at, created_at, 1, province_id
            FROM (
                SELECT g,
                    (%(fam_lat)s::text[])[f] || ' ' || (%(giv_lat)s::text[])[gi]
                        || CASE WHEN g2 > 0 THEN ' ' || (%(giv_lat)s::text[])[g2] ELSE '' END
                        AS latin,
                    CASE WHEN rk < 0.9
                        THEN (%(fam_km)s::text[])[f] || ' ' || (%(giv_km)s::text[])[gi]
                        || CASE WHEN g2 > 0 THEN ' ' || (%(giv_km)s::text[])[g2] ELSE '' END
                        ELSE '' END AS khmer,
                    CASE WHEN ra < 0.2
                        THEN (%(fam_alias)s::text[])[f] || ' ' || (%(giv_alias)s::text[])[gi]
                         WHEN ra < 0.3 THEN (%(giv_alias)s::text[])[gi]
                         WHEN ra < 0.35
                        THEN (%(fam_alias)s::text[])[f] || ' ' || (%(giv_alias)s::text[])[gi]
                              || E'\n' || (%(giv_alias)s::text[])[gi]
                         ELSE '' END AS aliases,
                    (%(giv_sex)s::text[])[gi] AS sex,
                    CASE WHEN rb < 0.9 THEN 1950 + floor(rb * 61)::int END AS birth_year,
                    (%(affiliations)s::text[])[
                        1 + floor(r1 * cardinality(%(affiliations)s::text[]))::int]
                        AS affiliation,
                    (%(roles)s::text[])[1 + floor(r2 * cardinality(%(roles)s::text[]))::int]
                        AS former_role,
                    (%(occupations)s::text[])[
                        1 + floor(r3 * cardinality(%(occupations)s::text[]))::int]
                        AS occupation,
                    CASE WHEN r4 < 0.3 THEN 'Provincial prison' ELSE '' END AS place_held,
                    CASE WHEN r4 < 0.6 THEN
                        (%(relations)s::text[])[1 + floor(r4 * 100)::int %% 8] || ', 012 '
                        || lpad((g %% 1000000)::text, 6, '0') ELSE '' END AS family_contact,
                    s.province_id,
                    now() - (r5 * 3650) * interval '1 day' AS created_at
                FROM (
                    SELECT g, 1 + floor(random() * cardinality(%(fam_lat)s::text[]))::int AS f,
                        1 + floor(random() * cardinality(%(giv_lat)s::text[]))::int AS gi,
                        CASE WHEN random() < 0.3
                            THEN 1 + floor(random() * cardinality(%(giv_lat)s::text[]))::int
                            ELSE 0 END AS g2,
                        random() AS rk, random() AS ra, random() AS rb, random() AS r1,
                        random() AS r2, random() AS r3, random() AS r4, random() AS r5,
                        floor(random() * 1000)::int AS slot
                    FROM generate_series(1, %(n)s) g
                    OFFSET 0
                ) r JOIN bench_slot s ON s.slot = r.slot
            ) p
            """,
            {**arrays, "n": n},
        )
    _setval(conn, "casework_detainee")


CASE_STATUS = """
    CASE WHEN rs < 0.40 THEN 'closed' WHEN rs < 0.54 THEN 'under_investigation'
         WHEN rs < 0.68 THEN 'charged' WHEN rs < 0.76 THEN 'on_trial'
         WHEN rs < 0.84 THEN 'summoned' WHEN rs < 0.90 THEN 'convicted'
         WHEN rs < 0.94 THEN 'on_appeal' WHEN rs < 0.97 THEN 'acquitted'
         ELSE 'dismissed' END
"""


def _cases(conn, n: int, arrays: dict) -> None:
    conn.execute("SELECT setseed(0.22)")
    admin = conn.execute("SELECT id FROM accounts_user WHERE username = 'bench-admin'").fetchone()
    with BulkLoad(conn, "casework_case"):
        _step(
            conn,
            "cases",
            f"""
            INSERT INTO casework_case (id, reference, court_case_number, title, status, opened_on,
                summary, sources, created_at, updated_at, version, caseworker_id, opened_by_id,
                court_id, province_id)
            SELECT g, 'CW-' || extract(year FROM opened_on) || '-' || lpad(g::text, 7, '0'),
                CASE WHEN rn < 0.7 THEN lpad(((g::bigint * 7919) %% 100000)::text, 5, '0') || '/'
                    || extract(year FROM opened_on) ELSE '' END,
                CASE WHEN rn < 0.5 THEN '' ELSE 'Charged over ' || trig END,
                status, opened_on,
                'Fictional benchmark case: charged after ' || trig || '. Family informed; '
                    || 'lawyer requested a copy of the file.',
                'Bench data (fictional).',
                created_at,
                CASE WHEN status IN ('closed', 'acquitted', 'dismissed')
                    THEN created_at + (now() - created_at) * ru
                    ELSE greatest(created_at, now() - (power(ru, 3) * 120) * interval '1 day')
                END,
                1, caseworker_id, coalesce(caseworker_id, %(admin)s), court_id, province_id
            FROM (
                SELECT g, status, opened_on, rn, ru, trig, province_id, court_id, caseworker_id,
                    (opened_on + time '09:00') AT TIME ZONE '{TZ}' AS created_at
                FROM (
                    SELECT g, {CASE_STATUS} AS status,
                        current_date - CASE WHEN rs < 0.40
                            THEN 365 + floor(rd * 5110)::int
                            ELSE floor(power(rd, 1.6) * 5475)::int END AS opened_on,
                        rn, ru,
                        (%(triggers)s::text[])[
                            1 + floor(rt * cardinality(%(triggers)s::text[]))::int]
                            AS trig,
                        s.province_id, s.court_id,
                        CASE WHEN rc < 0.9 THEN st.ids[1 + floor(rc / 0.9 * st.n)::int] END
                            AS caseworker_id
                    FROM (
                        SELECT g, random() AS rs, random() AS rd, random() AS rn, random() AS ru,
                            random() AS rt, random() AS rc, floor(random() * 1000)::int AS slot
                        FROM generate_series(1, %(n)s) g
                        OFFSET 0
                    ) r
                    JOIN bench_slot s ON s.slot = r.slot
                    LEFT JOIN bench_staff st ON st.province_id = s.province_id
                ) x
            ) c
            """,
            {**arrays, "n": n, "admin": admin[0]},
        )
    _setval(conn, "casework_case")


def _accused(conn, cases: int, people: int) -> None:
    conn.execute("SELECT setseed(0.33)")
    step_max = max(people // 6, 2)
    with BulkLoad(conn, "casework_accused"):
        _step(
            conn,
            "accused",
            """
            INSERT INTO casework_accused (id, case_id, detainee_id, custody_status, added_on)
            SELECT row_number() OVER (ORDER BY case_id, j), case_id,
                1 + ((case_id - 1) %% %(people)s + (j - 1) * step) %% %(people)s,
                CASE
                    WHEN status IN ('closed', 'acquitted', 'dismissed') THEN
                        CASE WHEN rc < 0.75 THEN 'at_liberty' WHEN rc < 0.80 THEN 'released_on_bail'
                             WHEN rc < 0.90 THEN 'in_exile' WHEN rc < 0.95 THEN 'in_hiding'
                             WHEN rc < 0.998 THEN 'serving_sentence' ELSE 'deceased' END
                    WHEN status IN ('convicted', 'on_appeal') THEN
                        CASE WHEN rc < 0.5 THEN 'serving_sentence' WHEN rc < 0.7 THEN 'in_exile'
                             WHEN rc < 0.8 THEN 'in_hiding' ELSE 'at_liberty' END
                    WHEN status = 'summoned' THEN
                        CASE WHEN rc < 0.7 THEN 'at_liberty' WHEN rc < 0.8 THEN 'police_custody'
                             WHEN rc < 0.9 THEN 'in_hiding' ELSE 'unknown' END
                    ELSE
                        CASE WHEN rc < 0.4 THEN 'pretrial_detention'
                             WHEN rc < 0.55 THEN 'released_on_bail'
                             WHEN rc < 0.8 THEN 'at_liberty' WHEN rc < 0.9 THEN 'in_hiding'
                             ELSE 'in_exile' END
                END,
                opened_on
            FROM (
                SELECT k.case_id, k.status, k.opened_on, k.step, j, random() AS rc
                FROM (
                    SELECT id AS case_id, status, opened_on,
                        CASE WHEN rk < 0.78 THEN 1 WHEN rk < 0.93 THEN 2 WHEN rk < 0.98 THEN 3
                             ELSE 4 + floor((rk - 0.98) * 150)::int END AS k,
                        1 + floor(rs * %(step_max)s)::int AS step
                    FROM (SELECT id, status, opened_on, random() AS rk, random() AS rs
                          FROM casework_case OFFSET 0) z
                ) k
                CROSS JOIN LATERAL generate_series(1, k.k) j
                OFFSET 0
            ) a
            """,
            {"people": people, "step_max": step_max},
        )
    _setval(conn, "casework_accused")


def _lawyers(conn, arrays: dict) -> None:
    conn.execute("SELECT setseed(0.44)")
    _step(
        conn,
        "lawyers",
        """
        INSERT INTO casework_lawyer (name, name_khmer, bar_number, organisation, contact,
            created_at)
        SELECT (%(fam_lat)s::text[])[f] || ' ' || (%(giv_lat)s::text[])[gi],
            (%(fam_km)s::text[])[f] || ' ' || (%(giv_km)s::text[])[gi],
            CASE WHEN g %% 10 = 0 THEN NULL ELSE 'BAKC-' || lpad(g::text, 4, '0') END,
            (%(orgs)s::text[])[1 + g %% cardinality(%(orgs)s::text[])],
            '012 ' || lpad((g * 7)::text, 6, '0'), now() - g * interval '3 days'
        FROM (
            SELECT g, 1 + floor(random() * cardinality(%(fam_lat)s::text[]))::int AS f,
                1 + floor(random() * cardinality(%(giv_lat)s::text[]))::int AS gi
            FROM generate_series(1, %(n)s) g OFFSET 0
        ) r
        """,
        {**arrays, "n": LAWYERS},
    )


def _charges(conn) -> None:
    conn.execute("SELECT setseed(0.55)")
    charges = [r[0] for r in conn.execute("SELECT id FROM casework_charge ORDER BY id").fetchall()]
    with BulkLoad(conn, "casework_case_charges"):
        _step(
            conn,
            "case charges",
            """
            INSERT INTO casework_case_charges (case_id, charge_id)
            SELECT c.id,
                (%(charges)s::bigint[])[1 + (c.first + j) %% cardinality(%(charges)s::bigint[])]
            FROM (SELECT id, floor(random() * 100)::int AS first,
                         CASE WHEN random() < 0.55 THEN 1 WHEN random() < 0.8 THEN 2 ELSE 3 END AS n
                  FROM casework_case OFFSET 0) c
            CROSS JOIN LATERAL generate_series(0, c.n - 1) j
            """,
            {"charges": charges},
        )
    # Charges are each accused's (AccusedCharge); the case's are their union.
    with BulkLoad(conn, "casework_accusedcharge"):
        _step(
            conn,
            "accused charges",
            """
            INSERT INTO casework_accusedcharge (accused_id, charge_id, step, "on", source,
                                                created_at)
            SELECT a.id, cc.charge_id, 'charged', c.opened_on, '', now()
            FROM casework_accused a
            JOIN casework_case c ON c.id = a.case_id
            JOIN casework_case_charges cc ON cc.case_id = a.case_id
            """,
            {},
        )


def _hearing_counts(conn, total: int, cases: int, long_cases: int) -> None:
    """How many hearings each case gets: exponential around the mean, a few with hundreds."""
    conn.execute("SELECT setseed(0.66)")
    long_total = long_cases * sum(LONG_HEARINGS) // 2
    mean = max((total - long_total) / cases, 0.1)
    conn.execute(
        f"""
        CREATE TEMP TABLE bench_hcount AS
        SELECT id AS case_id,
            CASE WHEN id %% %(every)s = 7 AND id / %(every)s < %(long)s
                 THEN {LONG_HEARINGS[0]}
                      + floor(random() * {LONG_HEARINGS[1] - LONG_HEARINGS[0]})::int
                 ELSE floor(-ln(1 - random()) * %(mean)s + 0.5)::int END AS k
        FROM casework_case
        """,
        {"every": max(cases // max(long_cases, 1), 1), "long": long_cases, "mean": mean},
    )


def _hearings(conn, total: int, cases: int, long_cases: int) -> None:
    _hearing_counts(conn, total, cases, long_cases)
    conn.execute("SELECT setseed(0.67)")
    lawyer_max = conn.execute("SELECT max(id), min(id) FROM casework_lawyer").fetchone()
    staff = conn.execute(
        "SELECT array_agg(id) FROM accounts_user WHERE role = 'caseworker'"
    ).fetchone()[0]
    with BulkLoad(conn, "casework_hearing"):
        _step(
            conn,
            "hearings",
            """
            INSERT INTO casework_hearing (kind, scheduled_at, status, outcome, notes, created_at,
                updated_at, version, case_id, court_id, monitor_id, lawyer_id)
            SELECT kind, at, status,
                CASE WHEN status = 'held' THEN
                    CASE WHEN rk < 0.5 THEN 'Adjourned: the prosecution asked for more time.'
                         WHEN rk < 0.8 THEN 'Heard; decision reserved.'
                         ELSE 'Witnesses heard; next date to be set.' END
                ELSE '' END,
                '', least(at, now()) - interval '7 days', least(at, now()), 1,
                case_id, court_id,
                CASE WHEN rm < 0.3 THEN (%(staff)s::bigint[])[
                    1 + floor(rm / 0.3 * cardinality(%(staff)s::bigint[]))::int] END,
                CASE WHEN rl < 0.6 THEN %(lmin)s + floor(rl / 0.6 * (%(lmax)s - %(lmin)s + 1))::int
                END
            FROM (
                SELECT case_id, court_id, rk, rm, rl, at,
                    CASE WHEN (j %% 5) = 0 THEN 'bail' WHEN j = 1 THEN 'questioning'
                         WHEN status = 'on_appeal' THEN 'appeal'
                         WHEN rk < 0.15 THEN 'verdict' ELSE 'trial' END AS kind,
                    CASE WHEN at > now() THEN 'scheduled'
                         WHEN rs < 0.7 THEN 'held' WHEN rs < 0.9 THEN 'postponed'
                         ELSE 'cancelled' END AS status
                FROM (
                    SELECT r.case_id, r.j, r.rk, r.rm, r.rl, r.rs, c.court_id, c.status,
                        c.created_at + ((r.j - 0.5 + r.rj * 0.8) / r.k)
                            * CASE WHEN c.status IN ('closed', 'acquitted', 'dismissed')
                                   THEN c.updated_at - c.created_at
                                   ELSE now() - c.created_at + interval '60 days' END AS at
                    FROM (
                        SELECT h.case_id, h.k, j, random() AS rj, random() AS rk,
                            random() AS rm, random() AS rl, random() AS rs
                        FROM bench_hcount h CROSS JOIN LATERAL generate_series(1, h.k) j
                        WHERE h.k > 0
                        OFFSET 0
                    ) r
                    JOIN casework_case c ON c.id = r.case_id
                ) y
            ) x
            """,
            {"staff": staff, "lmin": lawyer_max[1], "lmax": lawyer_max[0]},
        )


def _custody(conn) -> None:
    """Open custody for those held, closed for those on bail. Starts are spread over each
    limit's length and a little beyond, so about one open period in twenty is past its
    limit and a few more are near it, as the NGO sees them."""
    conn.execute("SELECT setseed(0.77)")
    limits = dict(conn.execute("SELECT code, id FROM casework_detentionlimit").fetchall())
    with BulkLoad(conn, "casework_custodyperiod"):
        _step(
            conn,
            "custody periods",
            f"""
            INSERT INTO casework_custodyperiod (started_at, custody_since, time_known, ended_at,
                extensions, order_reference, place_held, runs_out_at, accused_id, case_id,
                limit_id, held_before)
            SELECT s.started_at, s.started_at, true,
                CASE WHEN p.custody_status = 'released_on_bail'
                     THEN s.started_at + (now() - s.started_at) * p.r3 END,
                p.extensions, p.order_reference, p.place_held,
                -- DetentionLimit.runs_out: local time, calendar months clamped to the month's end.
                CASE l.unit
                    WHEN 'hours' THEN s.started_at + m.amount * interval '1 hour'
                    WHEN 'days' THEN s.started_at + m.amount * interval '1 day'
                    ELSE ((s.started_at AT TIME ZONE '{TZ}') + m.amount * interval '1 month')
                         AT TIME ZONE '{TZ}' END,
                -- One custody per person in a case here: no days held earlier to count.
                p.accused_id, p.case_id, l.id, 0
            FROM (
                SELECT a.id AS accused_id, a.case_id, a.custody_status, r2, r3,
                    CASE WHEN a.custody_status = 'police_custody' THEN %(police)s
                         WHEN r1 < 0.8 THEN %(felony)s ELSE %(misdemeanour)s END AS limit_id,
                    CASE WHEN r3 < 0.5 THEN 0 WHEN r3 < 0.85 THEN 1 ELSE 2 END AS extensions,
                    'Order ' || a.id || '/' || extract(year FROM a.added_on) AS order_reference,
                    CASE WHEN r1 < 0.5 THEN 'Prey Sar prison (CC1)' ELSE 'Provincial prison' END
                        AS place_held
                FROM (SELECT a.*, random() AS r1, random() AS r2, random() AS r3
                      FROM casework_accused a
                      WHERE a.custody_status IN ('police_custody', 'pretrial_detention',
                                                 'released_on_bail')
                      OFFSET 0) a
            ) p
            JOIN casework_detentionlimit l ON l.id = p.limit_id
            CROSS JOIN LATERAL (
                SELECT least(l.initial
                             + least(p.extensions, coalesce(l.max_extensions, p.extensions))
                             * l.extension, l.maximum) AS amount
            ) m
            CROSS JOIN LATERAL (
                SELECT now() - p.r2 * 1.05 * CASE l.unit
                    WHEN 'hours' THEN m.amount * interval '1 hour'
                    WHEN 'days' THEN m.amount * interval '1 day'
                    ELSE m.amount * interval '30.4 days' END AS started_at
            ) s
            """,
            {
                "police": limits["police-custody"],
                "felony": limits["pretrial-felony"],
                "misdemeanour": limits["pretrial-misdemeanour"],
            },
        )


def _representation(conn) -> None:
    conn.execute("SELECT setseed(0.88)")
    lmin, lmax = conn.execute("SELECT min(id), max(id) FROM casework_lawyer").fetchone()
    with BulkLoad(conn, "casework_representation"):
        _step(
            conn,
            "representations",
            """
            INSERT INTO casework_representation (since, until, accused_id, lawyer_id,
                                                 end_reason, end_note)
            SELECT a.added_on + (r2 * 30)::int,
                CASE WHEN c.status IN ('closed', 'acquitted', 'dismissed') AND r3 < 0.8
                     THEN greatest(a.added_on + (r2 * 30)::int,
                                   (c.updated_at AT TIME ZONE 'Asia/Phnom_Penh')::date)
                END,
                a.id, %(lmin)s + floor(r1 * (%(lmax)s - %(lmin)s + 1))::int,
                -- An ended representation says why (constraint representation_end_reason).
                CASE WHEN c.status IN ('closed', 'acquitted', 'dismissed') AND r3 < 0.8
                     THEN 'case_closed' ELSE '' END,
                ''
            FROM (SELECT a.*, random() AS r0, random() AS r1, random() AS r2, random() AS r3
                  FROM casework_accused a OFFSET 0) a
            JOIN casework_case c ON c.id = a.case_id
            WHERE a.r0 < CASE WHEN c.status IN ('closed', 'acquitted', 'dismissed') THEN 0.5
                              ELSE 0.65 END
            """,
            {"lmin": lmin, "lmax": lmax},
        )


def _bail(conn, total: int, long_cases: int) -> None:
    conn.execute("SELECT setseed(0.99)")
    accused_max = conn.execute("SELECT max(id) FROM casework_accused").fetchone()[0]
    lmin, lmax = conn.execute("SELECT min(id), max(id) FROM casework_lawyer").fetchone()
    with BulkLoad(conn, "casework_bailrequest"):
        _step(
            conn,
            "bail requests",
            """
            INSERT INTO casework_bailrequest (filed_on, decision, decided_on, reasons, created_at,
                updated_at, version, accused_id, appeal_of_id, case_id, court_id, filed_by_id)
            SELECT filed_on, decision,
                CASE WHEN decision = 'pending' THEN NULL
                     ELSE least(filed_on + 3 + floor(rd * 40)::int,
                                greatest(filed_on, current_date)) END,
                CASE WHEN decision = 'denied' THEN 'Risk of flight, according to the court.'
                     WHEN decision = 'granted' THEN 'Report to the police weekly.' ELSE '' END,
                (filed_on + time '10:00') AT TIME ZONE 'Asia/Phnom_Penh',
                (filed_on + time '10:00') AT TIME ZONE 'Asia/Phnom_Penh', 1,
                accused_id, NULL, case_id, court_id,
                CASE WHEN rl < 0.7
                     THEN %(lmin)s + floor(rl / 0.7 * (%(lmax)s - %(lmin)s + 1))::int END
            FROM (
                SELECT a.id AS accused_id, a.case_id, c.court_id, rd, rl,
                    least(a.added_on + floor(rf * greatest(current_date - a.added_on, 1))::int,
                          current_date) AS filed_on,
                    CASE WHEN rx < 0.55 THEN 'denied' WHEN rx < 0.75 THEN 'granted'
                         WHEN rx < 0.85 THEN 'withdrawn' ELSE 'pending' END AS decision
                FROM (SELECT 1 + floor(random() * %(amax)s)::bigint AS aid, random() AS rf,
                             random() AS rx, random() AS rd, random() AS rl
                      FROM generate_series(1, %(n)s) OFFSET 0) r
                JOIN casework_accused a ON a.id = r.aid
                JOIN casework_case c ON c.id = a.case_id
            ) b
            """,
            {"amax": accused_max, "n": total, "lmin": lmin, "lmax": lmax},
        )
        # The long-timeline cases have long bail histories too.
        _step(
            conn,
            "bail on long cases",
            """
            INSERT INTO casework_bailrequest (filed_on, decision, decided_on, reasons, created_at,
                updated_at, version, accused_id, appeal_of_id, case_id, court_id, filed_by_id)
            SELECT d, 'denied', d + 7, 'Risk of flight, according to the court.',
                now(), now(), 1, a.id, NULL, a.case_id, c.court_id, NULL
            FROM bench_hcount h
            JOIN casework_case c ON c.id = h.case_id
            JOIN LATERAL (SELECT id, case_id FROM casework_accused WHERE case_id = h.case_id
                          ORDER BY id LIMIT 1) a ON true
            CROSS JOIN LATERAL generate_series(1, 40) j
            CROSS JOIN LATERAL (SELECT least(c.opened_on + j * 30, current_date - 8) AS d) x
            WHERE h.k >= %(long)s
            """,
            {"long": LONG_HEARINGS[0]},
        )


def _events(conn, total: int, cases: int) -> None:
    conn.execute("SELECT setseed(0.12)")
    per_case = total / cases
    kinds = ["arrested", "charged", "pretrial_detention", "transferred", "threatened",
             "status_changed", "questioned", "summoned", "detention_extended", "other"]  # fmt: skip
    staff = conn.execute(
        "SELECT array_agg(id) FROM accounts_user WHERE role = 'caseworker'"
    ).fetchone()[0]
    with BulkLoad(conn, "casework_event"):
        _step(
            conn,
            "events",
            """
            INSERT INTO casework_event (kind, occurred_on, description, source, source_detail,
                place, stated_cause, examination, verified, created_at, case_id, accused_id,
                recorded_by_id)
            SELECT (%(kinds)s::text[])[1 + floor(rk * cardinality(%(kinds)s::text[]))::int],
                least(opened_on + floor(rd * greatest(current_date - opened_on, 1))::int,
                      current_date),
                'Reported by the family; confirmed by the lawyer.',
                (ARRAY['report', 'lawyer', 'family', 'monitor', 'court', 'other'])[
                    1 + floor(rs * 6)::int],
                '', '', '', '', rs < 0.6, now(), case_id,
                CASE WHEN ra < 0.7 THEN first_accused END,
                (%(staff)s::bigint[])[1 + floor(ru * cardinality(%(staff)s::bigint[]))::int]
            FROM (
                SELECT c.case_id, c.opened_on, c.first_accused, j, random() AS rk,
                    random() AS rd, random() AS rs, random() AS ra, random() AS ru
                FROM (
                    SELECT c.id AS case_id, c.opened_on, f.first_accused,
                        CASE WHEN h.k >= %(long)s THEN 60
                             ELSE floor(-ln(1 - random()) * %(mean)s + 0.5)::int END AS n
                    FROM casework_case c JOIN bench_hcount h ON h.case_id = c.id
                    LEFT JOIN (SELECT case_id, min(id) AS first_accused FROM casework_accused
                               GROUP BY case_id) f ON f.case_id = c.id
                    OFFSET 0
                ) c
                CROSS JOIN LATERAL generate_series(1, c.n) j
                OFFSET 0
            ) e
            """,
            {"kinds": kinds, "staff": staff, "mean": per_case, "long": LONG_HEARINGS[0]},
        )


def _audit(conn, rows: int, offset: int) -> None:
    """``rows`` more audit entries, numbered from ``offset`` for their unique hashes.

    Timestamps run on from the last entry (or eight years ago) to now, in id order.
    """
    conn.execute("SELECT setseed(%s)", [0.5 + (offset % 1000) / 10000])
    types = dict(
        conn.execute(
            "SELECT model, id FROM django_content_type WHERE app_label = 'casework'"
        ).fetchall()
    )
    maxima = {
        model: conn.execute(f"SELECT coalesce(max(id), 1) FROM casework_{model}").fetchone()[0]
        for model in ("case", "detainee", "hearing", "bailrequest")
    }
    staff = conn.execute(
        "SELECT array_agg(id ORDER BY id), array_agg(email ORDER BY id) FROM accounts_user "
        "WHERE username LIKE 'bench-%'"
    ).fetchone()
    start, end = conn.execute(
        "SELECT coalesce(max(timestamp), now() - interval '8 years'), now() FROM audit_auditentry"
    ).fetchone()
    with BulkLoad(conn, "audit_auditentry"):
        _step(
            conn,
            f"audit entries {offset + 1:,}-{offset + rows:,}",
            """
            INSERT INTO audit_auditentry (object_pk, object_id, object_repr, serialized_data,
                action, changes_text, changes, cid, remote_addr, remote_port, timestamp,
                additional_data, actor_email, event, prev_hash, entry_hash, actor_id,
                content_type_id, chain_seq)
            SELECT object_id::text, object_id,
                CASE ct
                    WHEN %(t_case)s THEN coalesce(
                        (SELECT reference FROM casework_case WHERE id = object_id),
                        'case ' || object_id)
                    WHEN %(t_det)s THEN coalesce(
                        (SELECT name_latin FROM casework_detainee WHERE id = object_id),
                        'person ' || object_id)
                    WHEN %(t_hear)s THEN 'Hearing ' || object_id
                    ELSE 'Bail request ' || object_id END,
                NULL,
                CASE WHEN event = 'view' THEN 3 WHEN ra < 0.2 THEN 0 ELSE 1 END,
                '',
                CASE WHEN event = 'view' THEN NULL
                     WHEN ct = %(t_case)s THEN '{"status": ["charged", "on_trial"]}'::jsonb
                     WHEN ct = %(t_det)s THEN '{"place_held": ["", "Provincial prison"]}'::jsonb
                     ELSE '{"status": ["scheduled", "held"]}'::jsonb END,
                NULL, ('10.0.' || (k %% 250) || '.' || (k %% 199 + 1))::inet, NULL,
                %(start)s::timestamptz + ((k - %(offset)s - 0.5) / %(rows)s)
                    * (%(end)s::timestamptz - %(start)s::timestamptz),
                NULL, (%(emails)s::text[])[ai], event,
                CASE WHEN k = 1 THEN repeat('0', 64)
                     ELSE encode(sha256(convert_to('bench:' || (k - 1), 'UTF8')), 'hex') END,
                encode(sha256(convert_to('bench:' || k, 'UTF8')), 'hex'),
                (%(actors)s::bigint[])[ai], ct, k
            FROM (
                SELECT k, ct, event, ra, ai,
                    CASE ct WHEN %(t_case)s THEN 1 + floor(ro * %(m_case)s)::bigint
                            WHEN %(t_det)s THEN 1 + floor(ro * %(m_det)s)::bigint
                            WHEN %(t_hear)s THEN 1 + floor(ro * %(m_hear)s)::bigint
                            ELSE 1 + floor(ro * %(m_bail)s)::bigint END AS object_id
                FROM (
                    SELECT %(offset)s + g AS k,
                        CASE WHEN rt < 0.5 THEN %(t_case)s WHEN rt < 0.85 THEN %(t_det)s
                             WHEN rt < 0.95 THEN %(t_hear)s ELSE %(t_bail)s END AS ct,
                        CASE WHEN re < 0.7 THEN 'change' ELSE 'view' END AS event,
                        ra, ro, ai
                    FROM (SELECT g, random() AS rt, random() AS re, random() AS ra,
                                 random() AS ro,
                                 1 + floor(random() * cardinality(%(actors)s::bigint[]))::int AS ai
                          FROM generate_series(1, %(rows)s) g OFFSET 0) s
                ) t
            ) e
            """,
            {
                "t_case": types["case"],
                "t_det": types["detainee"],
                "t_hear": types["hearing"],
                "t_bail": types["bailrequest"],
                "m_case": maxima["case"],
                "m_det": maxima["detainee"],
                "m_hear": maxima["hearing"],
                "m_bail": maxima["bailrequest"],
                "actors": staff[0],
                "emails": staff[1],
                "start": start,
                "end": end,
                "offset": offset,
                "rows": rows,
            },
        )


# --- Entry point ----------------------------------------------------------


def load(url_args: dict, size: str) -> dict:
    """Bring the benchmark database to ``size``; returns what was done."""
    done = {"core": False, "audit": False}
    with psycopg.connect(**url_args, autocommit=True) as conn:
        _session(conn)
        started = time.perf_counter()
        if needs_core(conn, size):
            spec = CORE[size]
            log(f"generating {size} data ({spec['cases']:,} cases) ...")
            conn.execute("DELETE FROM bench_meta")
            with conn.transaction():
                _province_slots(conn)
                _users(conn)
                arrays = _arrays()
                _people(conn, spec["people"], arrays)
                _cases(conn, spec["cases"], arrays)
                _accused(conn, spec["cases"], spec["people"])
                _lawyers(conn, arrays)
                _charges(conn)
                _hearings(conn, spec["hearings"], spec["cases"], spec["long_cases"])
                _custody(conn)
                _representation(conn)
                _bail(conn, spec["bail"], spec["long_cases"])
                _events(conn, spec["events"], spec["cases"])
                for table in ("casework_lawyer", "casework_case_charges", "casework_hearing",
                              "casework_custodyperiod", "casework_representation",
                              "casework_bailrequest", "casework_event"):  # fmt: skip
                    _setval(conn, table)
                meta_set(conn, "core", core_signature(size))
                meta_set(conn, "audit_rows", 0)
            done["core"] = True
        have = meta_get(conn, "audit_rows") or 0
        want = AUDIT_ROWS[size]
        if have != want:
            with conn.transaction():
                if have > want:
                    # In replica mode no trigger fires, the one refusing TRUNCATE included
                    # (audit/migrations/0004_refuse_truncate.py); the bench runs as superuser.
                    conn.execute("SET session_replication_role = replica")
                    conn.execute("TRUNCATE audit_auditentry")
                    have = 0
                log(f"generating audit entries: {have:,} -> {want:,} ...")
                _audit(conn, want - have, have)
                _setval(conn, "audit_auditentry")
                meta_set(conn, "audit_rows", want)
            done["audit"] = True
        if done["core"] or done["audit"]:
            conn.execute("SET session_replication_role = origin")
            log("VACUUM ANALYZE ...")
            vacuum_started = time.perf_counter()
            conn.execute("VACUUM ANALYZE")
            log(f"  VACUUM ANALYZE in {time.perf_counter() - vacuum_started:.1f} s")
            meta_set(conn, "loaded_in_s", round(time.perf_counter() - started, 1))
            meta_set(conn, "loaded_on", time.strftime("%Y-%m-%d"))
        counts = {}
        for table in ("casework_case", "casework_detainee", "casework_accused",
                      "casework_hearing", "casework_bailrequest", "casework_event",
                      "casework_custodyperiod", "casework_representation",
                      "audit_auditentry"):  # fmt: skip
            counts[table] = conn.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table]
            ).fetchone()[0]
        done["counts"] = counts
        done["loaded_in_s"] = meta_get(conn, "loaded_in_s")
        done["loaded_on"] = meta_get(conn, "loaded_on")
    return done


def check(log=print) -> None:
    """Sample the generated rows against the app's own derivations; stop on a mismatch."""
    from django.db import connection

    from casework.models import CustodyPeriod, Detainee, fold

    bad = []
    for person in Detainee.objects.order_by("?")[:500]:
        expected = fold(" ".join([person.name_latin, person.name_khmer, person.aliases]))
        if person.search_text != expected:
            bad.append(f"search_text of person {person.pk}: {person.search_text!r} != {expected!r}")
    for period in CustodyPeriod.objects.select_related("limit").order_by("?")[:500]:
        expected = period.limit.runs_out(period.custody_since, period.extensions)
        if period.runs_out_at != expected:
            bad.append(f"runs_out_at of period {period.pk}: {period.runs_out_at} != {expected}")
    orphans = {
        "bail case differs from accused case": """
            SELECT count(*) FROM casework_bailrequest b JOIN casework_accused a
            ON a.id = b.accused_id WHERE a.case_id <> b.case_id""",
        "custody case differs from accused case": """
            SELECT count(*) FROM casework_custodyperiod p JOIN casework_accused a
            ON a.id = p.accused_id WHERE a.case_id <> p.case_id""",
        "accused without person": """
            SELECT count(*) FROM casework_accused a
            WHERE NOT EXISTS (SELECT 1 FROM casework_detainee d WHERE d.id = a.detainee_id)""",
        "hearing without case": """
            SELECT count(*) FROM casework_hearing h
            WHERE NOT EXISTS (SELECT 1 FROM casework_case c WHERE c.id = h.case_id)""",
        "case with an unknown caseworker": """
            SELECT count(*) FROM casework_case c WHERE c.caseworker_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM accounts_user u WHERE u.id = c.caseworker_id)""",
    }
    with connection.cursor() as cursor:
        for what, query in orphans.items():
            cursor.execute(query)
            n = cursor.fetchone()[0]
            if n:
                bad.append(f"{n} rows: {what}")
    if bad:
        raise SystemExit(
            "bench: generated data does not match the app:\n  " + "\n  ".join(bad[:20])
        )
    log("bench: data checked against casework.names.fold and DetentionLimit.runs_out (samples)")
