"""Fill the database with fictional demo data: people, cases, lawyers, hearings, bail, clocks.

    manage.py seed_demo [--cases N] [--seed S] [--password P] [--if-empty]

Fast enough for load tests (100 000 cases in a few minutes): rows are built in
memory a chunk of cases at a time and written with bulk_create, all inside one
transaction. bulk_create skips save() and the audit signals, so this module
fills the derived columns itself, as the models' save() would
(Detainee.search_text, CustodyPeriod.runs_out_at, BailRequest.case), and
writes one summary audit entry instead of one per row.

Running it again changes nothing: demo cases carry DEMO_MARKER in their
sources, and when any is there no case data is added; the demo users are
only saved when they differ from what the command would make.
"""

import argparse
import bisect
import datetime as dt
import itertools
import random
import secrets
import time
from collections import Counter

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import connections, transaction
from django.utils import timezone

from accounts.models import Role, User
from audit.log import record
from audit.models import AuditEvent
from casework import demo
from casework.models import (
    OPEN_STATUSES,
    Accused,
    AccusedCharge,
    BailRequest,
    Case,
    CaseStatus,
    Charge,
    Court,
    CustodyPeriod,
    CustodyStatus,
    Detainee,
    DetentionLimit,
    Event,
    Hearing,
    Lawyer,
    Province,
    Representation,
    add_months,
    fold,
    name_keys,
    nfc,
)

DEFAULT_CASES = 400
MAX_CASES = 2_000_000
DEFAULT_SEED = 2026
CHUNK = 2000  # cases built and written at a time; also the bulk_create batch size
HISTORY_DAYS = 3 * 365
DEMO_MARKER = "Fictional demo data (seed_demo)."

# username, role, province codes, first name, last name
DEMO_USERS = [
    ("demo-admin", Role.ADMIN, [], "Demo", "Admin"),
    ("demo-coordinator", Role.COORDINATOR, ["KH-2", "KH-6", "KH-12"], "Demo", "Coordinator"),
    ("demo-caseworker", Role.CASEWORKER, ["KH-2"], "Demo", "Caseworker (Battambang)"),
    ("demo-caseworker2", Role.CASEWORKER, ["KH-6"], "Demo", "Caseworker (Kampong Thom)"),
]
# Province code -> (caseworker's username, share of the province's cases assigned to them).
ASSIGNMENTS = {"KH-2": ("demo-caseworker", 0.9), "KH-6": ("demo-caseworker2", 0.9)}

LIMIT_CODES = ("police-custody", "pretrial-felony", "pretrial-misdemeanour", "immediate-appearance")

S = CaseStatus
C = CustodyStatus
# The hearing an open case waits for next.
UPCOMING_KIND = {
    S.SUMMONED: Hearing.Kind.QUESTIONING,
    S.UNDER_INVESTIGATION: Hearing.Kind.QUESTIONING,
    S.CHARGED: Hearing.Kind.TRIAL,
    S.ON_TRIAL: Hearing.Kind.TRIAL,
    S.CONVICTED: Hearing.Kind.APPEAL,
    S.ON_APPEAL: Hearing.Kind.APPEAL,
}


class Weighted:
    """A weighted choice table, built once: rng.choices() re-sums the weights on every call."""

    def __init__(self, pairs):
        pairs = list(pairs.items()) if isinstance(pairs, dict) else list(pairs)
        self.values = [value for value, _ in pairs]
        self.cumulative = list(itertools.accumulate(weight for _, weight in pairs))

    def pick(self, rng):
        index = bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])
        return self.values[min(index, len(self.values) - 1)]


def _whole_number(value):
    """argparse type: int() with a message a person can act on."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None


D = BailRequest.Decision
# Bail for someone still held, and for custody that ended some other way than bail.
FIRST_REQUEST_HELD = Weighted({D.DENIED: 65, D.PENDING: 25, D.WITHDRAWN: 10})
FIRST_REQUEST_ENDED = Weighted({D.DENIED: 80, D.WITHDRAWN: 20})
APPEAL_HELD = Weighted({D.DENIED: 65, D.PENDING: 35})


class Command(BaseCommand):
    help = (
        "Fill the database with fictional demo data (people, cases, lawyers, hearings, bail "
        "requests, custody clocks) and the demo users. Running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--cases",
            type=_whole_number,
            default=DEFAULT_CASES,
            metavar="N",
            help=f"How many cases to make, 0 to {MAX_CASES} (default {DEFAULT_CASES}).",
        )
        parser.add_argument(
            "--seed",
            type=_whole_number,
            default=DEFAULT_SEED,
            metavar="S",
            help=f"Random seed: the same seed makes the same data (default {DEFAULT_SEED}).",
        )
        parser.add_argument(
            "--password",
            metavar="P",
            help="Password for the demo users. Without it new users get a random one, printed.",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already holds any case.",
        )

    def handle(self, *args, **options):
        cases = _checked_number("--cases", options.get("cases", DEFAULT_CASES), 0, MAX_CASES)
        seed = _checked_number("--seed", options.get("seed", DEFAULT_SEED), None, None)
        password = options.get("password")
        if options.get("if_empty") and Case.objects.exists():
            self.stdout.write("The database already holds cases: --if-empty, so nothing was done.")
            return
        if password is not None:
            try:
                validate_password(password)
            except ValidationError as exc:
                raise CommandError("--password is too weak: " + " ".join(exc.messages)) from None

        started = time.monotonic()
        with transaction.atomic():
            users, new_password = self._ensure_users(password)
            existing = Case.objects.filter(sources__startswith=DEMO_MARKER).count()
            counts = {}
            if existing:
                self.stdout.write(
                    f"Demo data is already there ({existing} cases): nothing added. "
                    "For a different set, start from an empty database."
                )
            elif cases:
                counts = DemoBuilder(random.Random(seed), users).build(cases)
                record(
                    AuditEvent.COMMAND,
                    model=Case,
                    data={"command": "seed_demo", "cases": cases, "seed": seed},
                )
        if not cases:
            self.stdout.write("--cases 0: no case data made.")
        if counts:
            summary = ", ".join(f"{n} {name}" for name, n in counts.items())
            self.stdout.write(
                self.style.SUCCESS(f"Made {summary} in {time.monotonic() - started:.1f} s.")
            )
        self._report_users(users, password, new_password)

    def _ensure_users(self, password):
        """Create or update the four demo users, saving only what differs."""
        provinces = {p.code: p for p in Province.objects.all()}
        users, new_password = {}, None
        for username, role, codes, first_name, last_name in DEMO_USERS:
            wanted = {
                "role": role,
                "first_name": first_name,
                "last_name": last_name,
                "email": f"{username}@example.org",
            }
            user = User.objects.filter(username=username).first()
            if user is None:
                if password is None and new_password is None:
                    new_password = secrets.token_urlsafe(12)
                user = User.objects.create_user(
                    username=username, password=password or new_password, **wanted
                )
            else:
                changed = [name for name, value in wanted.items() if getattr(user, name) != value]
                for name in changed:
                    setattr(user, name, wanted[name])
                if password is not None and not user.check_password(password):
                    user.set_password(password)
                    changed.append("password")
                if changed:
                    user.save()
            current = set(user.provinces.values_list("code", flat=True))
            if current != set(codes):
                user.provinces.set([provinces[code] for code in codes if code in provinces])
            users[username] = user
        return users, new_password

    def _report_users(self, users, password, new_password):
        names = ", ".join(f"{u.username} ({u.role})" for u in users.values())
        self.stdout.write(f"Demo users: {names}.")
        if new_password:
            self.stdout.write(f"Password for the new demo users: {new_password}")
        elif password is None:
            self.stdout.write("The demo users already existed and keep their passwords.")


def _checked_number(flag, value, low, high):
    """Options may also come from call_command(cases=...), which skips argparse's type."""
    if isinstance(value, bool):
        raise CommandError(f"{flag} takes a whole number, not {value!r}.")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise CommandError(f"{flag} takes a whole number, not {value!r}.") from None
    if (low is not None and number < low) or (high is not None and number > high):
        raise CommandError(f"{flag} must be between {low} and {high}, not {number}.")
    return number


def _most_extensions(limit) -> int:
    """Extensions that still add time: the maximum in all caps them when no count is set."""
    if limit.max_extensions is not None:
        return limit.max_extensions
    return -(-(limit.maximum - limit.initial) // limit.extension) if limit.extension else 0


class Chunk:
    """The rows of up to CHUNK cases, written together in dependency order."""

    def __init__(self):
        self.detainees, self.cases, self.case_charges, self.accused = [], [], [], []
        self.representations, self.periods, self.hearings, self.events = [], [], [], []
        self.bail, self.appeals = [], []
        self.stamps = []  # (case, created_at, updated_at): bulk_create stamps "now" over them


class DemoBuilder:
    def __init__(self, rng: random.Random, users: dict):
        self.rng = rng
        self.users = users
        self.now = timezone.now()
        self.today = timezone.localdate(self.now)
        self.tz = timezone.get_current_timezone()

        provinces = {p.code: p for p in Province.objects.all()}
        missing = [code for code in demo.PROVINCE_WEIGHTS if code not in provinces]
        limits = {lim.code: lim for lim in DetentionLimit.objects.filter(code__in=LIMIT_CODES)}
        missing += [code for code in LIMIT_CODES if code not in limits]
        if missing:
            raise CommandError(
                f"Reference data is missing ({', '.join(missing)}): run `manage.py migrate` first."
            )
        self.limits = limits
        self.provinces = Weighted(
            (provinces[code], weight) for code, weight in demo.PROVINCE_WEIGHTS.items()
        )
        self.courts = {
            court.province_id: court
            for court in Court.objects.filter(level=Court.Level.FIRST_INSTANCE).order_by("pk")
        }
        self.appeal_court = Court.objects.filter(level=Court.Level.APPEAL).order_by("pk").first()
        charges = list(Charge.objects.order_by("pk"))
        self.charges = Weighted((c, demo.CHARGE_WEIGHTS.get(c.name_en, 2)) for c in charges)
        self.has_charges = bool(charges)
        self.status_tables = [(days, Weighted(table)) for days, table in demo.STATUS_BY_AGE]
        self.custody_tables = {s: Weighted(t) for s, t in demo.CUSTODY_BY_STATUS.items()}
        self.examinations = Weighted(demo.EXAMINATIONS.items())
        self.affiliations = Weighted(demo.AFFILIATIONS)
        self.former_roles = Weighted(demo.FORMER_ROLES)
        self.occupations = Weighted(demo.OCCUPATIONS)
        self.sources = Weighted(demo.EVENT_SOURCES)
        self.capital = provinces["KH-12"]
        self.accused_counts = Weighted({1: 70, 2: 17, 3: 9, 4: 2, 5: 1, 7: 1})
        self.alias_counts = Weighted({0: 45, 1: 40, 2: 15})
        self.organisations = Weighted(demo.LAWYER_ORGANISATIONS)
        # People of this chunk by province: the few who have more than one case.
        self.people_by_province = {}
        self.per_year = {}
        # Demo data should always show someone past the legal limit and someone near it.
        self.need_past = self.need_near = self.need_death = True
        self.counts = dict.fromkeys(
            ["cases", "people", "accused", "lawyers", "representations", "custody periods"]
            + ["hearings", "bail requests", "events"],
            0,
        )

    # --- Whole run ----------------------------------------------------------

    def build(self, n_cases: int) -> dict:
        self.lawyers = self._lawyers(min(400, max(8, n_cases // 60)))
        # Oldest first, so that references number the cases in the order they were opened.
        ages = sorted(int(HISTORY_DAYS * self.rng.random() ** 1.2) for _ in range(n_cases))
        ages.reverse()
        # Always one case of officials abroad charged together, whatever the draw.
        showcase = n_cases // 2
        for start in range(0, n_cases, CHUNK):
            chunk = Chunk()
            self.people_by_province = {}
            for index in range(start, min(start + CHUNK, n_cases)):
                opened_on = self.today - dt.timedelta(days=ages[index])
                self._case(chunk, opened_on, exiles=index == showcase)
            self._write(chunk)
        return self.counts

    def _lawyers(self, n: int) -> Weighted:
        planned = []
        for i in range(n):
            family = self.rng.choice(demo.FAMILY_NAMES)
            given = self.rng.choice(demo.GIVEN_NAMES)
            planned.append(
                Lawyer(
                    name=nfc(f"{family[0]} {given[0]}"),
                    name_khmer=nfc(f"{family[1]} {given[1]}"),
                    bar_number=f"DEMO-{1001 + i}",
                    organisation=self.organisations.pick(self.rng),
                    contact=f"Office 023 000 {i % 1000:03d} (fictional)",
                )
            )
        # Lawyers outlive the cases that are deleted: reuse the ones made before.
        existing = Lawyer.objects.in_bulk(
            [lw.bar_number for lw in planned], field_name="bar_number"
        )
        new = [lw for lw in planned if lw.bar_number not in existing]
        Lawyer.objects.bulk_create(new, batch_size=CHUNK)
        self.counts["lawyers"] = len(new)
        pool = [existing.get(lw.bar_number, lw) for lw in planned]
        # A few lawyers carry most of the political cases.
        return Weighted((lw, 1 / (i + 1) ** 0.7) for i, lw in enumerate(pool))

    def _charge_each_accused(self, chunk: Chunk):
        """Charges are each accused's (AccusedCharge): everyone in a demo case is charged
        with its charges when it opened; one in every nine co-accused has one dropped
        later, so the case page shows a history and "charges now" differ by person."""
        by_case = {}
        for case, charge in chunk.case_charges:
            by_case.setdefault(case.pk, []).append(charge)
        people = Counter(accused.case_id for accused in chunk.accused)
        steps = []
        for n, accused in enumerate(chunk.accused):
            charges = by_case.get(accused.case_id, [])
            opened = accused.case.opened_on
            for charge in charges:
                steps.append(
                    AccusedCharge(accused=accused, charge=charge, step="charged", on=opened)
                )
            # Only where someone else in the case still faces it: the case's charges stay
            # the union of those standing.
            if len(charges) > 1 and people[accused.case_id] > 1 and n % 9 == 4:
                later = min(opened + dt.timedelta(days=60), timezone.localdate())
                steps.append(
                    AccusedCharge(
                        accused=accused,
                        charge=charges[-1],
                        step="dropped",
                        on=later,
                        source="Investigating judge's order",
                    )
                )
        AccusedCharge.objects.bulk_create(steps, batch_size=CHUNK)

    def _write(self, chunk: Chunk):
        refs = [case.reference for case in chunk.cases]
        taken = Case.objects.filter(reference__in=refs).values_list("reference", flat=True)
        if taken:
            raise CommandError(
                f"Case {taken[0]} already exists and is not demo data: nothing was added."
            )
        Detainee.objects.bulk_create(chunk.detainees, batch_size=CHUNK)
        Case.objects.bulk_create(chunk.cases, batch_size=CHUNK)
        through = Case.charges.through
        through.objects.bulk_create(
            [through(case_id=case.pk, charge_id=charge.pk) for case, charge in chunk.case_charges],
            batch_size=CHUNK,
        )
        for period in chunk.periods:
            period.case = period.accused.case  # CustodyPeriod.save() copies it; bulk_create not
        for model, rows in [
            (Accused, chunk.accused),
            (Representation, chunk.representations),
            (CustodyPeriod, chunk.periods),
            (Hearing, chunk.hearings),
            (Event, chunk.events),
            (BailRequest, chunk.bail),
            (BailRequest, chunk.appeals),  # after the requests they appeal
        ]:
            model.objects.bulk_create(rows, batch_size=CHUNK)
        self._charge_each_accused(chunk)
        # auto_now stamps every row "now"; a demo needs recent and stale cases alike.
        self._restamp(chunk.stamps)
        for name, rows in [
            ("cases", chunk.cases),
            ("people", chunk.detainees),
            ("accused", chunk.accused),
            ("representations", chunk.representations),
            ("custody periods", chunk.periods),
            ("hearings", chunk.hearings),
            ("bail requests", chunk.bail + chunk.appeals),
            ("events", chunk.events),
        ]:
            self.counts[name] += len(rows)

    def _restamp(self, stamps):
        """Set created_at and updated_at as planned (bulk_update's CASE WHEN is much slower)."""
        connection = connections[Case.objects.db]
        quote, adapt = connection.ops.quote_name, connection.ops.adapt_datetimefield_value
        sql = "UPDATE {} SET {} = %s, {} = %s WHERE {} = %s".format(
            quote(Case._meta.db_table),
            quote(Case._meta.get_field("created_at").column),
            quote(Case._meta.get_field("updated_at").column),
            quote(Case._meta.pk.column),
        )
        with connection.cursor() as cursor:
            cursor.executemany(
                sql,
                [(adapt(created), adapt(updated), case.pk) for case, created, updated in stamps],
            )

    # --- One case -----------------------------------------------------------

    def _case(self, chunk: Chunk, opened_on: dt.date, exiles: bool = False):
        rng = self.rng
        age = (self.today - opened_on).days
        group = rng.random() < 0.008 or exiles
        if group:
            # Officials abroad charged together, as in the reports: everyone in exile.
            province = self.capital
            status = rng.choice([S.CHARGED, S.ON_TRIAL, S.CONVICTED])
            n_accused = rng.choice([5, 6, 8, 8, 8, 10, 12])
        else:
            province = self.provinces.pick(rng)
            status = next(table for days, table in self.status_tables if age < days).pick(rng)
            n_accused = self.accused_counts.pick(rng)
        court = self.courts.get(province.pk)
        # The day the case reached its current status; the clocks and hearings fit around it.
        status_on = opened_on
        if status not in (S.SUMMONED, S.UNDER_INVESTIGATION):
            status_on = opened_on + dt.timedelta(days=int(age * rng.uniform(0.4, 0.95)))
        year = opened_on.year
        self.per_year[year] = self.per_year.get(year, 0) + 1
        assigned_to = None
        if province.code in ASSIGNMENTS and not group:
            username, share = ASSIGNMENTS[province.code]
            if rng.random() < share:
                assigned_to = self.users[username]
        opener = assigned_to
        if opener is None and province.code in ("KH-2", "KH-6", "KH-12"):
            opener = self.users["demo-coordinator"]

        case = Case(
            reference=f"CW-{year}-{self.per_year[year]:05d}",
            court=court,
            province=province,
            status=status,
            opened_on=opened_on,
            caseworker=assigned_to,
            opened_by=opener,
            sources=f"{DEMO_MARKER}\n{self._source_line(opened_on)}",
        )
        if status != S.SUMMONED:
            case.court_case_number = f"{rng.randint(10, 2999)}/{year % 100:02d}"
        chunk.cases.append(case)
        charges = []
        if self.has_charges and (status != S.SUMMONED or group):
            for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
                charge = self.charges.pick(rng)
                if charge not in charges:
                    charges.append(charge)
            chunk.case_charges.extend((case, charge) for charge in charges)
        case.demo_classes = {charge.classification for charge in charges}

        people = []
        for _ in range(n_accused):
            person = self._person(chunk, province, opened_on, group, people)
            people.append(person)
        lead = people[0]
        trigger = rng.choice(demo.TRIGGERS)
        what = charges[0].name_en.lower() if charges else "summons"
        if group:
            case.title = f"{n_accused} former officials abroad: {what}"
            case.summary = (
                f"Fictional demo case. {n_accused} former opposition officials living abroad "
                f"were charged together over {trigger}."
            )
        else:
            others = f" and {n_accused - 1} other(s)" if n_accused > 1 else ""
            case.title = f"{lead.name_latin}{others}: {what}"
            who = lead.affiliation.lower() or "no known affiliation"
            case.summary = (
                f"Fictional demo case. {lead.name_latin} ({who}) was summoned after {trigger}."
            )

        lawyers = self._case_lawyers(group, status)
        timeline = [opened_on]
        for person in people:
            custody = C.IN_EXILE if group else self.custody_tables[status].pick(rng)
            accused = Accused(
                case=case, detainee=person, custody_status=custody, added_on=opened_on
            )
            chunk.accused.append(accused)
            lawyer = self._represent(chunk, accused, lawyers, opened_on)
            self._custody_story(chunk, case, accused, status, status_on, lawyer, timeline)
        self._hearings(chunk, case, status, status_on, lawyers, group, timeline)
        if rng.random() < 0.12:
            day = self._between(opened_on, self.today)
            self._event(chunk, case, None, Event.Kind.THREATENED, day, timeline)

        created_at = min(self._at(opened_on, 9), self.now)
        updated_at = max(created_at, min(self._at(max(timeline), 17), self.now))
        chunk.stamps.append((case, created_at, updated_at))

    def _person(self, chunk, province, opened_on, group, already) -> Detainee:
        rng = self.rng
        pool = self.people_by_province.setdefault(province.pk, [])
        if not group and pool and rng.random() < 0.05:
            person = rng.choice(pool)
            if person not in already:
                return person  # the same person in a second case
        family, family_km, family_alts = rng.choice(demo.FAMILY_NAMES)
        given, given_km, sex, given_alts = rng.choice(demo.GIVEN_NAMES)
        name = f"{family} {given}"
        aliases = []
        for _ in range(self.alias_counts.pick(rng)):
            alias = f"{rng.choice([family, *family_alts])} {rng.choice([given, *given_alts])}"
            if alias != name and alias not in aliases:
                aliases.append(alias)
        person = Detainee(
            name_latin=nfc(name),
            name_khmer=nfc(f"{family_km} {given_km}"),
            aliases=nfc("\n".join(aliases)),
            sex=sex if rng.random() < 0.97 else "unknown",
            birth_year=None if rng.random() < 0.06 else opened_on.year - rng.randint(19, 72),
            home_province=province if rng.random() < 0.85 else self.provinces.pick(rng),
            affiliation="Former opposition party official" if group else "",
            former_role=rng.choice(demo.EXILE_ROLES) if group else self.former_roles.pick(rng),
            occupation="" if group else self.occupations.pick(rng),
        )
        if not group:
            person.affiliation = self.affiliations.pick(rng)
        if rng.random() < 0.6:
            relation = rng.choice(demo.RELATIONS)
            prefix = rng.choice(["012", "016", "017", "077", "089", "092", "097"])
            person.family_contact = f"{relation}, {prefix} 000 {rng.randint(100, 999)} (fictional)"
        person.search_text = fold(" ".join([person.name_latin, person.name_khmer, person.aliases]))
        person.name_keys = name_keys(person.name_latin, person.name_khmer, *person.alias_list)
        chunk.detainees.append(person)
        if len(pool) < 300:
            pool.append(person)
        else:
            pool[rng.randrange(300)] = person
        return person

    def _case_lawyers(self, group, status) -> list:
        rng = self.rng
        chance = 0.5 if group else (0.65 if status == S.SUMMONED else 0.8)
        if rng.random() >= chance:
            return []  # some cases have no lawyer: coordinators look for them
        return [self.lawyers.pick(rng) for _ in range(rng.choice([1, 1, 1, 2]))]

    def _represent(self, chunk, accused, lawyers, opened_on):
        rng = self.rng
        if not lawyers:
            return None
        lawyer = lawyers[0] if rng.random() < 0.75 else rng.choice(lawyers)
        since = min(opened_on + dt.timedelta(days=rng.randint(0, 15)), self.today)
        if rng.random() < 0.08 and since < self.today - dt.timedelta(days=30):
            # An earlier lawyer who withdrew, was replaced or dismissed: the reason
            # taken in turn, not from the generator, so the rest of the data stays as it was.
            earlier = self.lawyers.pick(rng)
            until = self._between(since, self.today - dt.timedelta(days=2))
            reasons = [r for r in Representation.EndReason.values if r != "case_closed"]
            chunk.representations.append(
                Representation(
                    lawyer=earlier,
                    accused=accused,
                    since=since,
                    until=until,
                    end_reason=reasons[len(chunk.representations) % len(reasons)],
                )
            )
            since = until + dt.timedelta(days=1)
        chunk.representations.append(Representation(lawyer=lawyer, accused=accused, since=since))
        return lawyer

    # --- Custody, bail and the events that go with them ---------------------

    def _custody_story(self, chunk, case, accused, status, status_on, lawyer, timeline):
        rng = self.rng
        person = accused.detainee
        opened_on = case.opened_on
        custody = accused.custody_status
        if status == S.SUMMONED or rng.random() < 0.5:
            self._event(chunk, case, accused, Event.Kind.SUMMONED, opened_on, timeline)
        if status != S.SUMMONED and custody not in (C.IN_EXILE,):
            day = min(opened_on + dt.timedelta(days=rng.randint(2, 20)), self.today)
            self._event(chunk, case, accused, Event.Kind.QUESTIONED, day, timeline)

        if custody == C.PRETRIAL and (self.today - opened_on).days <= 3 and rng.random() < 0.5:
            accused.custody_status = custody = C.POLICE_CUSTODY
        if self.need_death and custody == C.AT_LIBERTY and status != S.SUMMONED:
            # Demo data should always show a death in custody.
            accused.custody_status = custody = C.DECEASED
        if custody == C.DECEASED:
            self.need_death = False
        if custody in (C.POLICE_CUSTODY, C.PRETRIAL):
            period = self._open_period(accused, case, custody)
            chunk.periods.append(period)
            person.place_held = period.place_held
            self._arrest_events(chunk, case, accused, period, timeline)
            self._bail_history(chunk, case, accused, period, lawyer, timeline, released=False)
        elif custody in (C.SERVING_SENTENCE, C.RELEASED_ON_BAIL, C.DECEASED) or (
            custody == C.AT_LIBERTY and status != S.SUMMONED and rng.random() < 0.4
        ):
            start = self._at(self._between(opened_on, status_on), rng.randint(6, 18))
            end = self._at(self._between(start.date(), status_on), rng.randint(8, 17))
            if custody == C.RELEASED_ON_BAIL:
                end = self._at(self._between(start.date(), self.today), rng.randint(8, 17))
            elif custody == C.SERVING_SENTENCE:
                end = self._at(status_on, 16)  # the verdict ends the pre-trial detention
            end = max(min(end, self.now), start)
            limit = self.limits[self._pretrial_code(case)]
            period = CustodyPeriod(
                accused=accused,
                limit=limit,
                started_at=start,
                custody_since=start,
                ended_at=end,
                extensions=min((end - start).days // 180, _most_extensions(limit)),
                order_reference=f"Detention order {rng.randint(1, 999)}/{start.year % 100:02d}",
                place_held=self._prison(case),
            )
            period.runs_out_at = limit.runs_out(period.started_at, period.extensions)
            chunk.periods.append(period)
            self._arrest_events(chunk, case, accused, period, timeline)
            released = custody == C.RELEASED_ON_BAIL
            self._bail_history(chunk, case, accused, period, lawyer, timeline, released=released)
            if custody == C.SERVING_SENTENCE:
                person.place_held = period.place_held
            elif custody == C.DECEASED:
                person.notes = "Died in custody; the family disputes the official cause of death."
                self._event(
                    chunk,
                    case,
                    accused,
                    Event.Kind.DIED_IN_CUSTODY,
                    end.date(),
                    timeline,
                    time=end.time().replace(second=0, microsecond=0),
                    place=rng.choice(demo.DEATH_PLACES),
                    stated_cause=rng.choice(demo.STATED_CAUSES),
                    examination=self.examinations.pick(rng),
                )
            elif not released:
                self._event(chunk, case, accused, Event.Kind.RELEASED, end.date(), timeline)
        elif custody == C.IN_HIDING:
            person.whereabouts = rng.choice(demo.HIDING_WHEREABOUTS)
            day = min(opened_on + dt.timedelta(days=rng.randint(1, 30)), self.today)
            self._event(chunk, case, accused, Event.Kind.WENT_INTO_HIDING, day, timeline)
        elif custody == C.IN_EXILE:
            person.whereabouts = rng.choice(demo.EXILE_WHEREABOUTS)
            day = opened_on - dt.timedelta(days=rng.randint(0, 400))
            self._event(chunk, case, accused, Event.Kind.LEFT_COUNTRY, day, timeline)

        if status in (S.CHARGED, S.ON_TRIAL, S.CONVICTED, S.ON_APPEAL) and rng.random() < 0.6:
            day = min(opened_on + dt.timedelta(days=rng.randint(1, 25)), self.today)
            self._event(chunk, case, accused, Event.Kind.CHARGED, day, timeline)
        if status in (S.CONVICTED, S.ON_APPEAL):
            self._event(chunk, case, accused, Event.Kind.CONVICTED, status_on, timeline)
        elif status == S.ACQUITTED:
            self._event(chunk, case, accused, Event.Kind.ACQUITTED, status_on, timeline)

    def _open_period(self, accused, case, custody) -> CustodyPeriod:
        """Custody going on today, its clock set so that a realistic few are past or near."""
        rng = self.rng
        opened_at = self._at(case.opened_on, 7)
        age = (self.today - case.opened_on).days
        if custody == C.POLICE_CUSTODY:
            limit = self.limits["police-custody"]
            start = max(opened_at, self.now - dt.timedelta(hours=rng.randint(3, 80)))
            start = min(start, self.now - dt.timedelta(hours=1))
            # Art. 96: one extension of 24 hours, for a felony only.
            extended = rng.random() < 0.4
            felony = "felony" in getattr(case, "demo_classes", set())
            extensions = 1 if extended and felony else 0
        else:
            if age <= 20 and rng.random() < 0.3:
                code = "immediate-appearance"
            else:
                code = self._pretrial_code(case)
            limit = self.limits[code]
            # Arrested within the longest detention the law allows, but a few held beyond it.
            late = self.need_past or rng.random() < 0.07
            longest = (limit.runs_out(self.now, _most_extensions(limit)) - self.now).days
            days_ago = longest + rng.randint(1, 120) if late else rng.randint(0, longest - 1)
            day = max(self.today - dt.timedelta(days=days_ago), case.opened_on)
            start = min(self._at(day, rng.randint(6, 18)), self.now - dt.timedelta(hours=1))
            extensions = self._extensions_needed(limit, start)
            if late and extensions and limit.runs_out(start, extensions) > self.now:
                extensions -= 1  # the judge did not extend in time: held past the limit
            elif self.need_near and limit.runs_out(start, extensions) > self._soon(14):
                near = self._near_start(limit, opened_at)
                if near:
                    start, extensions = near
        # Local time, as a form would give it: months are counted on Phnom Penh's calendar.
        start = timezone.localtime(start, self.tz)
        # One arrest in five is known by its date only: the clock counts from that day's start.
        time_known = rng.random() >= 0.2
        if not time_known:
            start = start.replace(hour=0, minute=0)
        period = CustodyPeriod(
            accused=accused,
            limit=limit,
            started_at=start,
            custody_since=start,
            time_known=time_known,
            extensions=extensions,
            order_reference=f"Detention order {rng.randint(1, 999)}/{start.year % 100:02d}",
            place_held=self._prison(case) if custody == C.PRETRIAL else self._police(case),
        )
        period.runs_out_at = limit.runs_out(start, extensions)
        if period.runs_out_at < self.now:
            self.need_past = False
        elif period.runs_out_at < self._soon(14):
            self.need_near = False
        return period

    def _pretrial_code(self, case) -> str:
        """The limit the case's charges call for (services.derive_limit's rule); a case
        whose charges do not say gets the one a user would have chosen."""
        classes = getattr(case, "demo_classes", set())
        if "felony" in classes:
            return "pretrial-felony"
        if "misdemeanour" in classes and "" not in classes:
            return "pretrial-misdemeanour"
        return "pretrial-felony" if self.rng.random() < 0.7 else "pretrial-misdemeanour"

    def _extensions_needed(self, limit, start) -> int:
        """The fewest extensions that keep this custody within its limit today, at most all."""
        most = _most_extensions(limit)
        for extensions in range(most + 1):
            if limit.runs_out(start, extensions) > self.now:
                return extensions
        return most

    def _near_start(self, limit, earliest):
        """A start that makes the limit run out within the next days, or None."""
        target = self._at(self.today + dt.timedelta(days=self.rng.randint(2, 12)), 9)
        for extensions in range(_most_extensions(limit) + 1):
            amount = min(limit.initial + extensions * limit.extension, limit.maximum)
            if limit.unit == DetentionLimit.Unit.MONTHS:
                start = add_months(target, -amount)
            elif limit.unit == DetentionLimit.Unit.DAYS:
                start = target - dt.timedelta(days=amount)
            else:
                start = target - dt.timedelta(hours=amount)
            if earliest <= start < self.now:
                return start, extensions
        return None

    def _arrest_events(self, chunk, case, accused, period, timeline):
        rng = self.rng
        local = timezone.localtime(period.started_at, self.tz)
        start = local.date()
        time = local.time().replace(second=0, microsecond=0) if period.time_known else None
        self._event(chunk, case, accused, Event.Kind.ARRESTED, start, timeline, time=time)
        if period.limit.code != "police-custody":
            day = min(start + dt.timedelta(days=rng.randint(1, 3)), self.today)
            self._event(chunk, case, accused, Event.Kind.PRETRIAL_DETENTION, day, timeline)
        for extension in range(1, period.extensions + 1):
            limit = period.limit
            runs_out = limit.runs_out(period.started_at, extension - 1).date()
            day = runs_out - dt.timedelta(days=rng.randint(1, 10))
            if day <= self.today:
                self._event(chunk, case, accused, Event.Kind.DETENTION_EXTENDED, day, timeline)
        if rng.random() < 0.1:
            day = start + dt.timedelta(days=rng.randint(10, 60))
            end = period.ended_at.date() if period.ended_at else self.today
            if day <= end:
                self._event(chunk, case, accused, Event.Kind.TRANSFERRED, day, timeline)

    def _bail_history(self, chunk, case, accused, period, lawyer, timeline, *, released):
        """Requests for release from this custody; a granted one is how bail releases happen."""
        rng = self.rng
        start = period.started_at.date()
        end = period.ended_at.date() if period.ended_at else self.today
        if not released and rng.random() < 0.45:
            return
        filed = min(self._between(start + dt.timedelta(days=3), end), end)
        if released:
            first = D.DENIED if rng.random() < 0.35 else D.GRANTED
        elif period.ended_at is None:
            first = FIRST_REQUEST_HELD.pick(rng)
        else:
            first = FIRST_REQUEST_ENDED.pick(rng)
        if first == D.GRANTED:
            filed = min(self._between(start, end - dt.timedelta(days=7)), end)
        request = self._bail(case, accused, case.court, filed, first, lawyer, end)
        chunk.bail.append(request)
        if first == D.DENIED and (released or rng.random() < 0.4):
            # An appeal to the Appeal Court against the refusal.
            filed = min(request.decided_on + dt.timedelta(days=rng.randint(2, 15)), end)
            decision = D.GRANTED if released else APPEAL_HELD.pick(rng)
            court = self.appeal_court or case.court
            appeal = self._bail(case, accused, court, filed, decision, lawyer, end)
            appeal.appeal_of = request
            chunk.appeals.append(appeal)
        if released:
            self._event(chunk, case, accused, Event.Kind.RELEASED_ON_BAIL, end, timeline)

    def _bail(self, case, accused, court, filed, decision, lawyer, latest) -> BailRequest:
        """One request; the decision date follows the filing, and pending ones have none."""
        rng = self.rng
        decided = None
        if decision == D.GRANTED:
            decided = latest
        elif decision != D.PENDING:
            decided = min(filed + dt.timedelta(days=rng.randint(3, 30)), latest)
        if decided is not None and decided < filed:
            decided = filed
        if decision == D.PENDING and (self.today - filed).days > 60:
            decision, decided = D.DENIED, filed + dt.timedelta(days=rng.randint(10, 40))
        reasons = {
            D.GRANTED: demo.BAIL_GRANTED_CONDITIONS,
            D.DENIED: demo.BAIL_DENIED_REASONS,
            D.WITHDRAWN: demo.BAIL_WITHDRAWN_REASONS,
            D.PENDING: [""],
        }[decision]
        return BailRequest(
            case=case,  # BailRequest.save() copies it from the accused; bulk_create does not
            accused=accused,
            court=court,
            filed_on=filed,
            filed_by=lawyer if rng.random() < 0.9 else None,
            decision=decision,
            decided_on=decided,
            reasons=rng.choice(reasons),
        )

    # --- Hearings -------------------------------------------------------------

    def _hearings(self, chunk, case, status, status_on, lawyers, group, timeline):
        rng = self.rng
        K = Hearing.Kind
        court = case.court
        past = []
        if status != S.SUMMONED and not group:
            past.append((K.QUESTIONING, self._between(case.opened_on, status_on)))
        if status in (S.ON_TRIAL, S.CONVICTED, S.ACQUITTED, S.ON_APPEAL) or (
            status == S.DISMISSED and rng.random() < 0.3
        ):
            for _ in range(rng.randint(1, 3)):
                past.append((K.TRIAL, self._between(case.opened_on, status_on)))
        if status in (S.CONVICTED, S.ACQUITTED, S.ON_APPEAL):
            past.append((K.VERDICT, status_on))
        if status == S.ON_APPEAL and rng.random() < 0.4:
            past.append((K.APPEAL, self._between(status_on, self.today)))
        for kind, day in past:
            if day >= self.today:
                day = self.today - dt.timedelta(days=1)
            if kind == K.VERDICT:
                held = True
            else:
                held = rng.random() < 0.75
            hearing = Hearing(
                case=case,
                court=self.appeal_court if kind == K.APPEAL and self.appeal_court else court,
                kind=kind,
                scheduled_at=self._at(day, rng.choice([8, 8, 9, 10, 14])),
            )
            if held:
                hearing.status = Hearing.Status.HELD
                hearing.outcome = self._outcome(kind, status, group)
                hearing.lawyer = rng.choice(lawyers) if lawyers and rng.random() < 0.85 else None
                if case.caseworker and rng.random() < 0.6:
                    hearing.monitor = case.caseworker
            elif rng.random() < 0.65:
                hearing.status = Hearing.Status.POSTPONED
                hearing.notes = rng.choice(demo.POSTPONED_NOTES)
            else:
                hearing.status = Hearing.Status.CANCELLED
                hearing.notes = rng.choice(demo.CANCELLED_NOTES)
            if hearing.court is not None:
                chunk.hearings.append(hearing)
                timeline.append(day)
        if status in OPEN_STATUSES and rng.random() < 0.45:
            kind = UPCOMING_KIND[status]
            day = self.today + dt.timedelta(days=rng.randint(1, 40))
            hearing = Hearing(
                case=case,
                court=self.appeal_court if kind == K.APPEAL and self.appeal_court else court,
                kind=kind,
                scheduled_at=self._at(day, rng.choice([8, 8, 9, 10, 14])),
                lawyer=lawyers[0] if lawyers else None,
                notes="Summons received by the family." if rng.random() < 0.2 else "",
            )
            if hearing.court is not None:
                chunk.hearings.append(hearing)

    def _outcome(self, kind, status, group) -> str:
        options = demo.HELD_OUTCOMES[kind]
        if kind == Hearing.Kind.VERDICT:
            if status == S.ACQUITTED:
                return "Acquitted of all charges."
            return options[2] if group else self.rng.choice(options[:2])
        return self.rng.choice(options)

    # --- Small helpers --------------------------------------------------------

    def _event(self, chunk, case, accused, kind, day, timeline, time=None, **details):
        rng = self.rng
        source = self.sources.pick(rng)
        verified = rng.random() < (0.9 if source in ("court", "monitor") else 0.6)
        chunk.events.append(
            Event(
                case=case,
                accused=accused,
                kind=kind,
                occurred_on=min(day, self.today),
                occurred_time=time if day <= self.today else None,
                source=source,
                source_detail=rng.choice(demo.SOURCE_DETAILS[source]),
                verified=verified,
                recorded_by=case.caseworker,
                **details,
            )
        )
        timeline.append(min(day, self.today))

    def _source_line(self, day) -> str:
        return f"Monitoring report (fictional), {day:%B %Y}"

    def _between(self, first: dt.date, last: dt.date) -> dt.date:
        if last <= first:
            return first
        return first + dt.timedelta(days=self.rng.randint(0, (last - first).days))

    def _at(self, day: dt.date, hour: int) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, self.rng.choice([0, 15, 30])), self.tz)

    def _soon(self, days: int) -> dt.datetime:
        return self.now + dt.timedelta(days=days)

    def _prison(self, case) -> str:
        if case.province == self.capital:
            return "Phnom Penh correctional centre"
        return f"{case.province.name_en} provincial prison"

    def _police(self, case) -> str:
        if case.province == self.capital:
            return "Phnom Penh municipal police station"
        return f"{case.province.name_en} provincial police station"
