"""The domain: people on file, their cases, lawyers, hearings, bail and custody.

See ../shared/DOMAIN.md. Scope (who may see what) lives in querysets.py; the
writes that span several models live in services.py.
"""

import datetime as dt
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from . import clocks
from .choices import QuickChoiceDisplay
from .clocks import add_months  # noqa: F401 - where tests and callers have found it
from .names import fold, name_keys
from .querysets import (
    BailRequestQuerySet,
    CaseQuerySet,
    CustodyPeriodQuerySet,
    DetaineeQuerySet,
    EventQuerySet,
    HearingQuerySet,
    LawyerQuerySet,
    RepresentationQuerySet,
    warning_cutoff,
)


def not_in_future(errors: dict, field: str, value, message) -> None:
    """One wording per rule: a date (or moment) that has not happened yet."""
    if value is None:
        return
    now = timezone.now() if isinstance(value, dt.datetime) else timezone.localdate()
    if value > now:
        errors[field] = message


# Rules that span several fields are checked in Model.clean(), on the field a form shows,
# and again by a database constraint, with one wording for both.
HELD_NEEDS_OUTCOME = _("A hearing that was held needs its outcome.")
DECIDED_BEFORE_FILED = _("The decision cannot come before the filing.")
DECISION_DATE = _("A decided request needs its decision date; a pending one has none.")
OPENED_IN_FUTURE = _("A case cannot be opened in the future.")
MERGE_INTO_ITSELF = _("A person cannot be merged into themselves.")
ORDER_BEFORE_ARREST = _("A detention order cannot come before the arrest it continues.")
NOTHING_TO_EXTEND = _(
    "This person has no detention running in this case: record the arrest or the "
    "detention order first."
)
NO_DERIVABLE_LIMIT = _(
    "The charges on file do not say which limit applies (no charge, a charge without its "
    "class of offence, or petty offences only): choose the legal limit of this order."
)
NO_LIMIT_BY_HAND = _(
    "The charges on file do not say which pre-trial detention limit applies: record the "
    "detention order on the case page, where its limit can be chosen."
)
DEATH_NEEDS_PERSON = _("A death in custody is recorded for the person who died.")
DEATH_DETAILS_ON_DEATH = _(
    "The cause given by the authorities and the independent examination belong to a "
    "death in custody."
)
ONE_DEATH = _("This person's death in custody is already recorded in this case.")
# Art. 96: police custody (48 hours) may be extended once by 24 hours, for a felony only.
# Charges are often not filed yet at police custody: with no felony on file the extension
# is refused, and the message says how to record it (the safe side for the person held:
# the clock never grants the police hours the charges on file do not allow).
POLICE_EXTENSION_FELONY_ONLY = _(
    "Police custody can be extended only for a felony (Art. 96), and no felony stands "
    "among this person's charges on file (none recorded yet, or none classed as a "
    "felony): record the felony charge first, then the extension."
)
# The limit code of police custody (Art. 96): the clock an arrest starts.
POLICE_CUSTODY = "police-custody"


def past_ceiling(limit) -> str:
    """One wording for an extension the law does not allow, wherever it is refused."""
    return _("No further extension is allowed: %(limit)s (%(article)s) allows %(maximum)s.") % {
        "limit": limit.name,
        "article": limit.article or "—",
        "maximum": limit.maximum_display,
    }


def felony_stands(accused) -> bool:
    """Whether a felony stands among ``accused``'s charges now, read as the clock reads
    them (``services.current_charges``, the one place)."""
    from .services import current_charges  # services imports this module

    return any(
        charge.classification == Charge.Classification.FELONY for charge in current_charges(accused)
    )


def raise_if(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


def nfc(value: str) -> str:
    """Names are stored as typed, normalised to Unicode NFC so search compares like with like."""
    return unicodedata.normalize("NFC", value or "").strip()


class BilingualName(models.Model):
    """Reference data carries an English and a Khmer name; pages show the reader's language."""

    name_en = models.CharField(_("name (English)"), max_length=200)
    name_km = models.CharField(_("name (Khmer)"), max_length=200, blank=True)

    class Meta:
        abstract = True

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        if (get_language() or "").startswith("km") and self.name_km:
            return self.name_km
        return self.name_en


# --- Reference data -------------------------------------------------------


class Province(BilingualName):
    code = models.CharField(
        _("ISO 3166-2 code"), max_length=6, unique=True, help_text=_("For example KH-2.")
    )

    class Meta:
        verbose_name = _("province")
        verbose_name_plural = _("provinces")
        ordering = ["name_en"]


class Court(BilingualName):
    class Level(models.TextChoices):
        FIRST_INSTANCE = "first_instance", _("Court of first instance")
        APPEAL = "appeal", _("Appeal Court")
        SUPREME = "supreme", _("Supreme Court")

    level = models.CharField(_("level"), max_length=20, choices=Level.choices)
    province = models.ForeignKey(
        Province,
        verbose_name=_("province"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="courts",
        help_text=_("Empty for the national courts."),
    )

    class Meta:
        verbose_name = _("court")
        verbose_name_plural = _("courts")
        ordering = ["level", "name_en"]
        constraints = [
            models.UniqueConstraint(fields=["name_en"], name="court_unique_name"),
            models.CheckConstraint(
                condition=Q(level="first_instance", province__isnull=False)
                | ~Q(level="first_instance"),
                name="court_first_instance_has_province",
                violation_error_message=_("A court of first instance belongs to a province."),
            ),
        ]


class Charge(BilingualName):
    class Classification(models.TextChoices):
        """The Criminal Code's three classes of offence, by the heaviest prison term the
        article carries: a felony more than 5 years, a misdemeanour more than 6 days and
        up to 5 years, a petty offence 6 days or less or a fine only. The class decides
        the pre-trial detention limit (Art. 208 / 209, Code of Criminal Procedure)."""

        FELONY = "felony", _("Felony")
        MISDEMEANOUR = "misdemeanour", _("Misdemeanour")
        PETTY_OFFENCE = "petty_offence", _("Petty offence")

    article = models.CharField(
        _("Criminal Code article"), max_length=50, help_text=_("For example Art. 494-495.")
    )
    classification = models.CharField(
        _("class of offence"),
        max_length=20,
        choices=Classification.choices,
        blank=True,
        help_text=_(
            "Felony, misdemeanour or petty offence, by the heaviest penalty the article "
            "carries. It decides the pre-trial detention limit (Art. 208 / 209); left "
            "empty, a detention order on this charge asks which limit applies."
        ),
    )

    class Meta:
        verbose_name = _("charge")
        verbose_name_plural = _("charges")
        ordering = ["name_en"]
        constraints = [models.UniqueConstraint(fields=["name_en"], name="charge_unique_name")]

    def __str__(self):
        return f"{self.name} ({self.article})"


class DetentionLimit(BilingualName):
    """A legal clock (Code of Criminal Procedure, 2007), editable by admins.

    The limit runs from the start of custody: the initial period, plus one
    extension period per extension ordered, never beyond the maximum in all.
    """

    class Unit(models.TextChoices):
        HOURS = "hours", _("hours")
        DAYS = "days", _("days")
        MONTHS = "months", _("months")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    article = models.CharField(_("article"), max_length=50, blank=True)
    unit = models.CharField(_("unit"), max_length=10, choices=Unit.choices)
    initial = models.PositiveIntegerField(_("initial period"))
    extension = models.PositiveIntegerField(_("each extension"), default=0)
    max_extensions = models.PositiveIntegerField(
        _("extensions allowed"),
        null=True,
        blank=True,
        help_text=_("Empty when only the maximum in all caps extensions."),
    )
    maximum = models.PositiveIntegerField(_("maximum in all"))

    class Meta:
        verbose_name = _("detention limit")
        verbose_name_plural = _("detention limits")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(initial__gt=0),
                name="limit_initial_positive",
                violation_error_message=_("The initial period must be longer than zero."),
            ),
            models.CheckConstraint(
                condition=Q(maximum__gte=F("initial")),
                name="limit_maximum_not_below_initial",
                violation_error_message=_("The maximum cannot be shorter than the initial period."),
            ),
        ]

    def runs_out(self, start: dt.datetime, extensions: int = 0) -> dt.datetime:
        """When custody that began at ``start`` must end, given the extensions ordered."""
        return clocks.runs_out(self, start, extensions)

    def ceiling(self, start: dt.datetime) -> dt.datetime:
        """The absolute maximum of custody that began at ``start`` (Art. 208: 18 months)."""
        return clocks.ceiling(self, start)

    @property
    def maximum_display(self) -> str:
        """ "18 months at most": the ceiling as the clock row shows it."""
        return _("%(n)s %(unit)s at most") % {
            "n": self.maximum,
            "unit": self.get_unit_display(),
        }


# --- People and cases -----------------------------------------------------


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Unknown")


class CustodyStatus(models.TextChoices):
    """Where an accused stands today. Ordered roughly from most to least restricted."""

    POLICE_CUSTODY = "police_custody", _("In police custody")
    PRETRIAL = "pretrial_detention", _("In pre-trial detention")
    SERVING_SENTENCE = "serving_sentence", _("Serving a sentence")
    RELEASED_ON_BAIL = "released_on_bail", _("Released on bail")
    AT_LIBERTY = "at_liberty", _("At liberty")
    IN_HIDING = "in_hiding", _("In hiding")
    IN_EXILE = "in_exile", _("In exile")
    DECEASED = "deceased", _("Died")
    UNKNOWN = "unknown", _("Unknown")


IN_CUSTODY = (CustodyStatus.POLICE_CUSTODY, CustodyStatus.PRETRIAL, CustodyStatus.SERVING_SENTENCE)


class Detainee(QuickChoiceDisplay, models.Model):
    """A person the NGO follows; not always in custody ("detainee" is the NGO's word)."""

    name_latin = models.CharField(_("name (Latin script)"), max_length=200, db_index=True)
    name_khmer = models.CharField(_("name (Khmer script)"), max_length=200, blank=True)
    aliases = models.TextField(
        _("other spellings and aliases"),
        blank=True,
        help_text=_("One per line, e.g. Sorn / Sorng, Chamroeun / Chamreun."),
    )
    sex = models.CharField(_("sex"), max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    birth_year = models.PositiveSmallIntegerField(_("year of birth"), null=True, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    home_province = models.ForeignKey(
        Province,
        verbose_name=_("home province"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="detainees",
    )
    affiliation = models.CharField(_("political affiliation"), max_length=200, blank=True)
    former_role = models.CharField(
        _("former role"), max_length=200, blank=True, help_text=_("e.g. former commune councillor")
    )
    occupation = models.CharField(_("occupation"), max_length=200, blank=True)
    place_held = models.CharField(_("where held"), max_length=200, blank=True)
    # Sensitive: only the assigned caseworker, the province's coordinators and admins.
    family_contact = models.TextField(_("family contact"), blank=True)
    whereabouts = models.TextField(
        _("whereabouts"), blank=True, help_text=_("Where someone in hiding is staying.")
    )
    notes = models.TextField(_("notes"), blank=True)
    # Lower-cased, accent-free copy of every name and alias, maintained on save,
    # so that one indexed column answers name search on both databases.
    search_text = models.TextField(editable=False, blank=True, default="")
    # Consonant skeletons of every name in either script (casework/names.py),
    # so the same person entered in Khmer and romanised is flagged as a duplicate.
    name_keys = models.TextField(editable=False, blank=True, default="")
    # Set when an admin merged this record into another (services.detainee_merge): the
    # record stays, out of every list, so the merge can be undone from the audit log.
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="merged_records",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = DetaineeQuerySet.as_manager()

    SENSITIVE_FIELDS = ("family_contact", "whereabouts")

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["name_latin", "pk"]
        indexes = [
            models.Index(fields=["home_province", "name_latin"], name="detainee_province_name")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(birth_year__isnull=True)
                | Q(birth_year__gte=1900, birth_year__lte=2100),
                name="detainee_birth_year_plausible",
                violation_error_message=_("The year of birth must be between 1900 and 2100."),
            ),
            models.CheckConstraint(
                condition=~Q(name_latin=""),
                name="detainee_has_name",
                violation_error_message=_("A person needs a name in Latin script."),
            ),
            models.CheckConstraint(
                condition=Q(merged_into__isnull=True) | ~Q(merged_into=F("pk")),
                name="detainee_not_merged_into_itself",
                violation_error_message=MERGE_INTO_ITSELF,
            ),
        ]

    def __str__(self):
        if self.name_khmer:
            return f"{self.name_latin} ({self.name_khmer})"
        return self.name_latin

    def save(self, *args, **kwargs):
        self.name_latin = nfc(self.name_latin)
        self.name_khmer = nfc(self.name_khmer)
        self.aliases = nfc(self.aliases)
        if self.birth_date and not self.birth_year:
            self.birth_year = self.birth_date.year
        self.search_text = fold(" ".join([self.name_latin, self.name_khmer, self.aliases]))
        self.name_keys = name_keys(self.name_latin, self.name_khmer, *self.alias_list)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("detainee_detail", args=[self.pk])

    def clean_fields(self, exclude=None):
        # Normalise before validating, so "   " is refused as an empty name.
        self.name_latin = nfc(self.name_latin)
        self.name_khmer = nfc(self.name_khmer)
        super().clean_fields(exclude)

    def clean(self):
        errors = {}
        if self.merged_into_id is not None and self.merged_into_id == self.pk:
            errors["merged_into"] = MERGE_INTO_ITSELF
        raise_if(errors)

    @property
    def alias_list(self) -> list[str]:
        return [a.strip() for a in self.aliases.replace(",", "\n").splitlines() if a.strip()]


class PossibleDuplicate(models.Model):
    """Two records that may be the same person, one outside the scope of the user who
    entered the other: for an admin to review (merge, or not the same person).

    The user who raised it learns only that a possible match is on file elsewhere
    (docs/permissions.md); the pair is shown to admins only.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("To review")
        MERGED = "merged", _("Merged")
        DISMISSED = "dismissed", _("Not the same person")

    person = models.ForeignKey(
        Detainee, verbose_name=_("record entered"), on_delete=models.CASCADE, related_name="+"
    )
    match = models.ForeignKey(
        Detainee, verbose_name=_("possible match"), on_delete=models.CASCADE, related_name="+"
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("raised by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    raised_at = models.DateTimeField(_("raised"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.OPEN
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("reviewed"), null=True, blank=True)

    class Meta:
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        ordering = ["-raised_at", "-pk"]
        indexes = [models.Index(fields=["status", "-raised_at"], name="duplicate_status_raised")]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "match"],
                name="duplicate_pair_once",
                violation_error_message=_("This pair is already in the review queue."),
            ),
            models.CheckConstraint(
                condition=~Q(person=F("match")),
                name="duplicate_not_itself",
                violation_error_message=MERGE_INTO_ITSELF,
            ),
        ]

    def __str__(self):
        # No names: the audit log's entry about the pair says which records, not who.
        return f"#{self.person_id} / #{self.match_id}"


class CaseStatus(models.TextChoices):
    SUMMONED = "summoned", _("Summoned")
    UNDER_INVESTIGATION = "under_investigation", _("Under investigation")
    CHARGED = "charged", _("Charged")
    ON_TRIAL = "on_trial", _("On trial")
    CONVICTED = "convicted", _("Convicted")
    ACQUITTED = "acquitted", _("Acquitted")
    DISMISSED = "dismissed", _("Dismissed")
    ON_APPEAL = "on_appeal", _("On appeal")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = (
    CaseStatus.SUMMONED,
    CaseStatus.UNDER_INVESTIGATION,
    CaseStatus.CHARGED,
    CaseStatus.ON_TRIAL,
    CaseStatus.CONVICTED,
    CaseStatus.ON_APPEAL,
)


class Case(QuickChoiceDisplay, models.Model):
    """One legal matter, with one or several accused."""

    reference = models.CharField(
        _("NGO reference"),
        max_length=40,
        unique=True,
        help_text=_("The NGO's own number, e.g. CW-2026-0042."),
    )
    court_case_number = models.CharField(_("court case number"), max_length=80, blank=True)
    title = models.CharField(_("short title"), max_length=200, blank=True)
    court = models.ForeignKey(
        Court, verbose_name=_("court"), on_delete=models.PROTECT, null=True, blank=True
    )
    province = models.ForeignKey(
        Province, verbose_name=_("province"), on_delete=models.PROTECT, related_name="cases"
    )
    charges = models.ManyToManyField(Charge, verbose_name=_("charges"), blank=True)
    status = models.CharField(
        _("status"), max_length=30, choices=CaseStatus.choices, default=CaseStatus.SUMMONED
    )
    opened_on = models.DateField(_("opened on"), default=timezone.localdate)
    caseworker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned caseworker"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_cases",
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="opened_cases",
    )
    summary = models.TextField(_("summary"), blank=True)
    sources = models.TextField(_("sources"), blank=True)
    detainees = models.ManyToManyField(
        Detainee, through="Accused", related_name="cases", verbose_name=_("accused")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last update"), auto_now=True, db_index=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-opened_on", "-pk"]
        indexes = [
            # The case list's filters with its order (newest first, then id), so a page is
            # read straight off the index, the deepest too; the caseworker rides along so
            # dashboards count caseloads from the index alone (bench/README.md).
            models.Index(
                fields=["province", "status", "-opened_on", "-id"],
                include=["caseworker"],
                name="case_province_status_list",
            ),
            models.Index(
                fields=["status", "-opened_on", "-id"],
                include=["caseworker"],
                name="case_status_list",
            ),
            models.Index(fields=["-opened_on", "-id"], name="case_opened"),
            # Open cases by last update: the dashboards' "no update in 30 days", which would
            # otherwise wade through years of closed cases first.
            models.Index(
                fields=["updated_at"],
                include=["caseworker", "opened_by"],
                condition=Q(status__in=OPEN_STATUSES),
                name="case_open_updated",
            ),
            models.Index(fields=["caseworker", "status"], name="case_caseworker_status"),
            models.Index(fields=["court_case_number"], name="case_court_number"),
            # The dashboards (bench/README.md). A caseworker's open cases, latest update
            # first, and how many: "My open cases".
            models.Index(
                fields=["caseworker", "updated_at"],
                include=["opened_by"],
                condition=Q(status__in=OPEN_STATUSES),
                name="case_open_caseworker_updated",
            ),
            # The other half of a caseworker's scope: unassigned cases they opened. Without
            # it PostgreSQL reads every unassigned case's entry to find a caseworker's few.
            models.Index(
                fields=["opened_by", "updated_at"],
                condition=Q(caseworker__isnull=True),
                name="case_unassigned_opened_by",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(reference=""),
                name="case_has_reference",
                violation_error_message=_("A case needs an NGO reference."),
            ),
        ]

    def __str__(self):
        return self.reference

    def get_absolute_url(self):
        return reverse("case_detail", args=[self.pk])

    def clean(self):
        errors = {}
        not_in_future(errors, "opened_on", self.opened_on, OPENED_IN_FUTURE)
        raise_if(errors)


class AccusedManager(models.Manager):
    """The people accused in a case now: those removed from it stay on file
    (``Accused.all_objects``) but are no longer listed, counted or offered."""

    def get_queryset(self):
        return super().get_queryset().filter(removed_on__isnull=True)


class Accused(QuickChoiceDisplay, models.Model):
    """One person accused in one case, with their own custody status in it."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="accused"
    )
    detainee = models.ForeignKey(
        Detainee, verbose_name=_("person"), on_delete=models.PROTECT, related_name="accusations"
    )
    custody_status = models.CharField(
        _("custody status"),
        max_length=30,
        choices=CustodyStatus.choices,
        default=CustodyStatus.AT_LIBERTY,
        db_index=True,
    )
    added_on = models.DateField(_("added on"), default=timezone.localdate)
    # Taken off the case (added by mistake, case split): kept, with why, never deleted,
    # since events, bail requests and custody periods hang on it (services.accused_remove).
    removed_on = models.DateField(_("removed from the case on"), null=True, blank=True)
    removed_reason = models.TextField(_("why removed"), blank=True, db_default="")

    all_objects = models.Manager()
    objects = AccusedManager()

    class Meta:
        base_manager_name = "all_objects"
        default_manager_name = "objects"
        verbose_name = _("accused")
        verbose_name_plural = _("accused")
        ordering = ["case", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "detainee"],
                name="accused_once_per_case",
                violation_error_message=_("This person is already accused in this case."),
            ),
        ]

    def __str__(self):
        return f"{self.detainee.name_latin} — {self.case.reference}"

    @property
    def in_custody(self) -> bool:
        return self.custody_status in IN_CUSTODY

    @property
    def standing_charges(self) -> list:
        """The charges standing against this person now (prefetch ``charge_steps``)."""
        steps = list(self.charge_steps.all())
        standing = set(standing_charge_ids(steps))
        charges = {step.charge_id: step.charge for step in steps if step.charge_id in standing}
        return list(charges.values())


    def open_period(self):
        """The custody clock running now in this case, if any."""
        return (
            self.custody_periods.filter(ended_at__isnull=True)
            .select_related("limit")
            .order_by("-started_at", "-pk")
            .first()
        )


class AccusedCharge(QuickChoiceDisplay, models.Model):
    """One dated step in the charges against one accused: charged, requalified to,
    dropped, acquitted of, convicted of. The latest step per charge says where it
    stands; the case's charges (``Case.charges``) are the union of the charges standing
    now, kept by the services (``services.accused_charge_record``)."""

    class Step(models.TextChoices):
        CHARGED = "charged", _("Charged with")
        REQUALIFIED = "requalified", _("Requalified to")
        DROPPED = "dropped", _("Dropped")
        ACQUITTED = "acquitted", _("Acquitted of")
        CONVICTED = "convicted", _("Convicted of")

    STANDING = (Step.CHARGED, Step.REQUALIFIED)

    accused = models.ForeignKey(
        Accused, verbose_name=_("accused"), on_delete=models.CASCADE, related_name="charge_steps"
    )
    charge = models.ForeignKey(Charge, verbose_name=_("charge"), on_delete=models.PROTECT)
    step = models.CharField(_("what happened"), max_length=20, choices=Step.choices)
    on = models.DateField(_("date"))
    source = models.CharField(_("source"), max_length=300, blank=True)
    requalified_from = models.ForeignKey(
        Charge,
        verbose_name=_("requalified from"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("charge step")
        verbose_name_plural = _("charge steps")
        ordering = ["on", "pk"]
        indexes = [models.Index(fields=["accused", "charge", "on"], name="charge_step_accused")]

    def __str__(self):
        return f"{self.get_step_display()} {self.charge} ({self.on})"

    def clean(self):
        errors = {}
        not_in_future(errors, "on", self.on, _("A charge cannot be recorded for a future date."))
        if self.step == self.Step.REQUALIFIED and not self.requalified_from_id:
            errors["requalified_from"] = _("Say which charge it was requalified from.")
        if self.requalified_from_id and self.requalified_from_id == self.charge_id:
            errors["requalified_from"] = _("A charge cannot be requalified to itself.")
        raise_if(errors)


def standing_charge_ids(steps) -> list[int]:
    """The charges standing now, from one accused's steps in date order: a charge stands
    when its latest step charged or requalified to it; requalifying from it ends it."""
    state: dict[int, bool] = {}
    for step in sorted(steps, key=lambda s: (s.on, s.pk or 0)):
        if step.requalified_from_id:
            state[step.requalified_from_id] = False
        state[step.charge_id] = step.step in AccusedCharge.STANDING
    return [charge for charge, standing in state.items() if standing]


class Lawyer(models.Model):
    name = models.CharField(_("name"), max_length=200)
    name_khmer = models.CharField(_("name (Khmer script)"), max_length=200, blank=True)
    bar_number = models.CharField(
        _("bar registration number"), max_length=40, null=True, blank=True, unique=True
    )
    organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    contact = models.TextField(_("contact"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = LawyerQuerySet.as_manager()

    class Meta:
        verbose_name = _("lawyer")
        verbose_name_plural = _("lawyers")
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(name=""),
                name="lawyer_has_name",
                violation_error_message=_("A lawyer needs a name."),
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.name = nfc(self.name)
        self.name_khmer = nfc(self.name_khmer)
        # An empty bar number is "unknown", not a second lawyer with number "".
        self.bar_number = (self.bar_number or "").strip() or None
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("lawyer_detail", args=[self.pk])

    def clean_fields(self, exclude=None):
        self.name = nfc(self.name)
        super().clean_fields(exclude)


REPRESENTATION_ENDS_BEFORE_START = _("A representation cannot end before it starts.")
REPRESENTATION_END_REASON = _("An ended representation needs its reason; a current one has none.")


class Representation(QuickChoiceDisplay, models.Model):
    """Which lawyer represents which accused in which case, from when, and until when.

    ``until`` is the day it ended: from that day on the lawyer no longer counts as
    the person's lawyer (``RepresentationQuerySet.current``, the one definition).
    """

    class EndReason(models.TextChoices):
        WITHDREW = "withdrew", _("The lawyer withdrew")
        REPLACED = "replaced", _("Replaced by another lawyer")
        DISMISSED = "dismissed", _("Dismissed by the client")
        CASE_CLOSED = "case_closed", _("The case was closed")
        OTHER = "other", _("Other or not recorded")

    lawyer = models.ForeignKey(
        Lawyer, verbose_name=_("lawyer"), on_delete=models.PROTECT, related_name="representations"
    )
    accused = models.ForeignKey(
        Accused,
        verbose_name=_("accused"),
        on_delete=models.CASCADE,
        related_name="representations",
    )
    since = models.DateField(_("since"), default=timezone.localdate)
    until = models.DateField(_("ended on"), null=True, blank=True)
    end_reason = models.CharField(
        _("why it ended"), max_length=20, choices=EndReason.choices, blank=True
    )
    end_note = models.CharField(_("note on the end"), max_length=300, blank=True)

    objects = RepresentationQuerySet.as_manager()

    class Meta:
        verbose_name = _("representation")
        verbose_name_plural = _("representations")
        ordering = ["-since", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(until__isnull=True) | Q(until__gte=F("since")),
                name="representation_ends_after_start",
                violation_error_message=REPRESENTATION_ENDS_BEFORE_START,
            ),
            models.CheckConstraint(
                condition=(Q(until__isnull=True) & Q(end_reason=""))
                | (Q(until__isnull=False) & ~Q(end_reason="")),
                name="representation_end_has_reason",
                violation_error_message=REPRESENTATION_END_REASON,
            ),
            models.UniqueConstraint(
                fields=["lawyer", "accused", "since"],
                name="representation_unique",
                violation_error_message=_(
                    "This lawyer already represents this person from that date."
                ),
            ),
        ]

    def __str__(self):
        return f"{self.lawyer} → {self.accused}"

    def clean(self):
        errors = {}
        if self.until and self.since and self.until < self.since:
            errors["until"] = REPRESENTATION_ENDS_BEFORE_START
        not_in_future(
            errors, "until", self.until, _("A representation cannot be ended in the future.")
        )
        if (self.until is None) != (not self.end_reason):
            errors["until" if self.until is None else "end_reason"] = REPRESENTATION_END_REASON
        raise_if(errors)

    @property
    def is_current(self) -> bool:
        """The same cut-off as ``RepresentationQuerySet.current``: ended means from that day."""
        return self.until is None or self.until > timezone.localdate()


class Hearing(QuickChoiceDisplay, models.Model):
    class Kind(models.TextChoices):
        QUESTIONING = "questioning", _("Questioning")
        BAIL = "bail", _("Bail hearing")
        TRIAL = "trial", _("Trial")
        VERDICT = "verdict", _("Verdict")
        APPEAL = "appeal", _("Appeal")

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        HELD = "held", _("Held")
        POSTPONED = "postponed", _("Postponed")
        CANCELLED = "cancelled", _("Cancelled")

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="hearings"
    )
    court = models.ForeignKey(Court, verbose_name=_("court"), on_delete=models.PROTECT)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    scheduled_at = models.DateTimeField(_("date and time"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.SCHEDULED
    )
    lawyer = models.ForeignKey(
        Lawyer,
        verbose_name=_("lawyer present"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hearings",
    )
    monitor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("NGO monitor present"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="monitored_hearings",
    )
    outcome = models.TextField(_("outcome"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # Which of the case's accused the hearing concerns; none chosen means all of them.
    accused = models.ManyToManyField(
        "Accused",
        verbose_name=_("people concerned"),
        blank=True,
        related_name="hearings",
        help_text=_("Leave all unticked when the hearing concerns everyone in the case."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = HearingQuerySet.as_manager()

    class Meta:
        verbose_name = _("hearing")
        verbose_name_plural = _("hearings")
        ordering = ["scheduled_at", "pk"]
        indexes = [
            # With the case and status, so the dashboards' "hearings in the next days" find
            # the user's first ones from the index alone (selectors.first_rows).
            models.Index(
                fields=["scheduled_at"], include=["case", "status"], name="hearing_scheduled"
            ),
            models.Index(fields=["case", "scheduled_at"], name="hearing_case_scheduled"),
            models.Index(fields=["status", "scheduled_at"], name="hearing_status_scheduled"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="held") | ~Q(outcome=""),
                name="hearing_held_has_outcome",
                violation_error_message=HELD_NEEDS_OUTCOME,
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} — {self.case.reference}"

    def clean(self):
        errors = {}
        if self.status == self.Status.HELD and not (self.outcome or "").strip():
            errors["outcome"] = HELD_NEEDS_OUTCOME
        if self.status == self.Status.HELD and self.scheduled_at:
            not_in_future(
                errors,
                "status",
                self.scheduled_at,
                _("A hearing in the future cannot have been held yet."),
            )
        raise_if(errors)


class BailRequest(QuickChoiceDisplay, models.Model):
    class Decision(models.TextChoices):
        PENDING = "pending", _("Pending")
        GRANTED = "granted", _("Granted")
        DENIED = "denied", _("Denied")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    # The case is the accused's case, copied on save so a case's bail history
    # is one indexed lookup and the admin can show it inline on the case.
    case = models.ForeignKey(
        Case,
        verbose_name=_("case"),
        on_delete=models.CASCADE,
        related_name="bail_requests",
        editable=False,
    )
    accused = models.ForeignKey(
        Accused, verbose_name=_("accused"), on_delete=models.CASCADE, related_name="bail_requests"
    )
    court = models.ForeignKey(Court, verbose_name=_("court"), on_delete=models.PROTECT)
    filed_on = models.DateField(_("filed on"))
    filed_by = models.ForeignKey(
        Lawyer,
        verbose_name=_("filed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bail_requests",
    )
    decision = models.CharField(
        _("decision"), max_length=20, choices=Decision.choices, default=Decision.PENDING
    )
    decided_on = models.DateField(_("decision date"), null=True, blank=True)
    # Two texts, kept apart so deciding never changes what was filed (migration 0009).
    grounds = models.TextField(_("grounds given at filing"), blank=True, db_default="")
    reasons = models.TextField(_("court's reasons"), blank=True)
    conditions = models.TextField(
        _("conditions set"),
        blank=True,
        db_default="",
        help_text=_("For bail granted: reporting, travel, …"),
    )
    appeal_of = models.ForeignKey(
        "self",
        verbose_name=_("appeals the decision of"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="appeals",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = BailRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("bail request")
        verbose_name_plural = _("bail requests")
        ordering = ["-filed_on", "-pk"]
        indexes = [
            models.Index(fields=["decision", "filed_on"], name="bail_decision_filed"),
            models.Index(fields=["court", "filed_on"], name="bail_court_filed"),
            # "Bail decisions pending more than 5 days", newest first, with the case to
            # check scope against without reading the requests themselves.
            models.Index(
                fields=["filed_on", "id"],
                include=["case"],
                condition=Q(decision="pending"),
                name="bail_pending_filed",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(decided_on__isnull=True) | Q(decided_on__gte=F("filed_on")),
                name="bail_decided_not_before_filed",
                violation_error_message=DECIDED_BEFORE_FILED,
            ),
            models.CheckConstraint(
                condition=(Q(decision="pending") & Q(decided_on__isnull=True))
                | (~Q(decision="pending") & Q(decided_on__isnull=False)),
                name="bail_decision_has_date",
                violation_error_message=DECISION_DATE,
            ),
            models.CheckConstraint(
                condition=Q(appeal_of__isnull=True) | ~Q(appeal_of=F("pk")),
                name="bail_not_appeal_of_itself",
                violation_error_message=_("A bail request cannot appeal itself."),
            ),
        ]

    def __str__(self):
        return f"{_('Bail request')} {self.filed_on} — {self.get_decision_display()}"

    def save(self, *args, **kwargs):
        self.case_id = self.accused.case_id
        super().save(*args, **kwargs)

    def clean(self):
        errors = {}
        not_in_future(
            errors, "filed_on", self.filed_on, _("A request cannot be filed in the future.")
        )
        pending = self.decision == self.Decision.PENDING
        if pending == (self.decided_on is not None):
            errors["decided_on"] = DECISION_DATE
        elif self.decided_on and self.filed_on and self.decided_on < self.filed_on:
            errors["decided_on"] = DECIDED_BEFORE_FILED
        not_in_future(
            errors, "decided_on", self.decided_on, _("The decision date cannot be in the future.")
        )
        if self.appeal_of_id and self.accused_id and self.appeal_of.accused_id != self.accused_id:
            errors["appeal_of"] = _(
                "An appeal must concern a decision on the same person in the same case."
            )
        raise_if(errors)


class Event(QuickChoiceDisplay, models.Model):
    """A dated fact on a case's timeline, about the case or one of its accused."""

    class Kind(models.TextChoices):
        SUMMONED = "summoned", _("Summoned")
        QUESTIONED = "questioned", _("Questioned")
        ARRESTED = "arrested", _("Arrested")
        CHARGED = "charged", _("Charged")
        PRETRIAL_DETENTION = "pretrial_detention", _("Placed in pre-trial detention")
        DETENTION_EXTENDED = "detention_extended", _("Detention extended")
        TRANSFERRED = "transferred", _("Transferred")
        RELEASED_ON_BAIL = "released_on_bail", _("Released on bail")
        RELEASED = "released", _("Released")
        CONVICTED = "convicted", _("Convicted and sentenced")
        ACQUITTED = "acquitted", _("Acquitted")
        WENT_INTO_HIDING = "went_into_hiding", _("Went into hiding")
        LEFT_COUNTRY = "left_country", _("Left the country")
        DIED_IN_CUSTODY = "died_in_custody", _("Died in custody")
        THREATENED = "threatened", _("Threatened or harassed")
        STATUS_CHANGED = "status_changed", _("Case status changed")
        OTHER = "other", _("Other")

    class Source(models.TextChoices):
        REPORT = "report", _("A report")
        LAWYER = "lawyer", _("A lawyer")
        FAMILY = "family", _("The family")
        MONITOR = "monitor", _("NGO monitor")
        COURT = "court", _("Court document")
        OTHER = "other", _("Other")

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="events"
    )
    accused = models.ForeignKey(
        Accused,
        verbose_name=_("person concerned"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
    )

    class Examination(models.TextChoices):
        YES = "yes", _("Yes, an independent examination took place")
        NO = "no", _("No independent examination")
        REQUESTED = "requested", _("Requested, not (yet) done")

    kind = models.CharField(_("what happened"), max_length=30, choices=Kind.choices)
    occurred_on = models.DateField(_("date"))
    # Police custody runs in hours (Art. 96). Empty when only the date is known: the
    # clock then counts from the start of that day, the safe side for the person held.
    occurred_time = models.TimeField(
        _("time of day"),
        null=True,
        blank=True,
        help_text=_(
            "Leave empty when only the date is known: the clock then counts from the "
            "start of that day, marked “time not known”."
        ),
    )
    place = models.CharField(
        _("place"), max_length=200, blank=True, help_text=_("Where it happened.")
    )
    # A death in custody: what the authorities said, and whether anyone checked it.
    stated_cause = models.TextField(_("cause given by the authorities"), blank=True)
    examination = models.CharField(
        _("independent examination"),
        max_length=20,
        choices=Examination.choices,
        blank=True,
        help_text=_("Leave empty when not known."),
    )
    description = models.TextField(_("details"), blank=True)
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.OTHER
    )
    source_detail = models.CharField(_("source detail"), max_length=300, blank=True)
    verified = models.BooleanField(_("verified by the NGO"), default=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["occurred_on", "pk"]
        indexes = [
            models.Index(fields=["case", "occurred_on"], name="event_case_date"),
            models.Index(fields=["kind", "occurred_on"], name="event_kind_date"),
        ]
        # A death without its person, or recorded twice, is refused by clean() only:
        # free-text deaths recorded before these fields may break either rule.
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="died_in_custody") | (Q(stated_cause="") & Q(examination="")),
                name="event_death_details_on_death",
                violation_error_message=DEATH_DETAILS_ON_DEATH,
            ),
        ]

    def __str__(self):
        return f"{self.occurred_on} {self.get_kind_display()}"

    @property
    def moment(self) -> dt.datetime:
        """When it happened; the start of its day when the time is not known."""
        return clocks.start_of(self.occurred_on, self.occurred_time)

    def clean(self):
        errors = {}
        not_in_future(
            errors,
            "occurred_on",
            self.occurred_on,
            _("An event cannot be recorded for a future date."),
        )
        if self.occurred_on and self.occurred_time and "occurred_on" not in errors:
            not_in_future(
                errors,
                "occurred_time",
                self.moment,
                _("An event cannot be recorded for a time still to come."),
            )
        if self.accused_id and self.case_id and self.accused.case_id != self.case_id:
            errors["accused"] = _("This person is not accused in this case.")
        if self.kind == self.Kind.DIED_IN_CUSTODY and not self.accused_id:
            errors["accused"] = DEATH_NEEDS_PERSON
        elif self.kind == self.Kind.DIED_IN_CUSTODY and (
            Event.objects.filter(accused=self.accused_id, kind=self.kind)
            .exclude(pk=self.pk)
            .exists()
        ):
            errors["accused"] = ONE_DEATH
        if self.kind != self.Kind.DIED_IN_CUSTODY and (self.stated_cause or self.examination):
            errors["stated_cause" if self.stated_cause else "examination"] = DEATH_DETAILS_ON_DEATH
        if self._state.adding and self.accused_id and self.occurred_on and not errors:
            self._check_against_clock(errors)
        raise_if(errors)

    def _check_against_clock(self, errors: dict) -> None:
        """A new detention order or extension continues the custody running now: it
        cannot come before the arrest, and an extension cannot pass the legal ceiling."""
        if self.kind not in (self.Kind.PRETRIAL_DETENTION, self.Kind.DETENTION_EXTENDED):
            return
        period = self.accused.open_period()
        if period is None:
            if self.kind == self.Kind.DETENTION_EXTENDED:
                errors["kind"] = NOTHING_TO_EXTEND
            return
        if self.moment < timezone.localtime(period.custody_since).replace(
            hour=0, minute=0, second=0, microsecond=0
        ) or (self.occurred_time and self.moment < period.custody_since):
            errors["occurred_on"] = ORDER_BEFORE_ARREST
        elif self.kind == self.Kind.DETENTION_EXTENDED and not period.can_extend():
            errors["kind"] = past_ceiling(period.limit)
        elif (
            self.kind == self.Kind.DETENTION_EXTENDED
            and period.limit.code == POLICE_CUSTODY
            and not felony_stands(self.accused)
        ):
            errors["kind"] = POLICE_EXTENSION_FELONY_ONLY


class CustodyPeriod(models.Model):
    """A stretch of custody under one order: the basis of the detention clock."""

    # The case is the accused's case, copied on save (as BailRequest does) so "which
    # cases have someone near or past the limit" is read from the custody index alone,
    # not traced through a million accused rows (the dashboards, bench/README.md).
    case = models.ForeignKey(
        Case,
        verbose_name=_("case"),
        on_delete=models.CASCADE,
        related_name="custody_periods",
        editable=False,
    )
    accused = models.ForeignKey(
        Accused,
        verbose_name=_("accused"),
        on_delete=models.CASCADE,
        related_name="custody_periods",
    )
    limit = models.ForeignKey(
        DetentionLimit, verbose_name=_("legal limit that applies"), on_delete=models.PROTECT
    )
    started_at = models.DateTimeField(
        _("order in force since"), help_text=_("When this order (or the arrest) took effect.")
    )
    # Custody is one clock (docs/architecture.md): a detention order continues the
    # custody that began at the arrest, so days held and the ceiling count from there.
    custody_since = models.DateTimeField(
        _("in custody since"),
        help_text=_(
            "The arrest that began this custody: days held, the limit and its ceiling "
            "count from it. Later orders and extensions continue the same clock."
        ),
    )
    time_known = models.BooleanField(
        _("time of day known"),
        default=True,
        help_text=_("Unticked: only the date is known, and the clock counts from its start."),
    )
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    extensions = models.PositiveSmallIntegerField(_("extensions ordered"), default=0)
    order_reference = models.CharField(_("detention order"), max_length=120, blank=True)
    place_held = models.CharField(_("where held"), max_length=200, blank=True)
    # Art. 208/209 bound the case's pre-trial detention in all: the days held earlier in
    # this case (released, then arrested again) bring the ceiling closer. Derived on save
    # from the person's earlier custody in the case (``held_earlier``).
    held_before = models.PositiveIntegerField(
        _("days held earlier in this case"), default=0, editable=False
    )
    # Derived from limit, start, extensions and days held earlier on every save (and when
    # an admin edits a limit), so lists can filter "past or near the limit" with an index.
    runs_out_at = models.DateTimeField(_("limit runs out"), editable=False)

    objects = CustodyPeriodQuerySet.as_manager()

    class Meta:
        verbose_name = _("custody period")
        verbose_name_plural = _("custody periods")
        ordering = ["-started_at", "pk"]
        indexes = [
            # Whose clock runs out when, without reading the periods themselves: open
            # periods only, in limit order, so "near or past the limit" lists read the first
            # rows in order instead of sorting every open period near its limit.
            models.Index(
                fields=["runs_out_at"],
                include=["accused", "case"],
                condition=Q(ended_at__isnull=True),
                name="custody_open_by_runs_out",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("started_at")),
                name="custody_ends_after_start",
                violation_error_message=_("Custody cannot end before it starts."),
            ),
            models.CheckConstraint(
                condition=Q(custody_since__lte=F("started_at")),
                name="custody_order_not_before_arrest",
                violation_error_message=ORDER_BEFORE_ARREST,
            ),
        ]

    def __str__(self):
        return f"{self.accused} — {self.limit}"

    def save(self, *args, **kwargs):
        if self.custody_since is None:
            self.custody_since = self.started_at
        self.held_before = self.held_earlier()
        self.runs_out_at = clocks.runs_out(
            self.limit, self.custody_since, self.extensions, self.held_before
        )
        self.case_id = self.accused.case_id
        super().save(*args, **kwargs)

    def clean(self):
        errors = {}
        if self.custody_since is None:
            self.custody_since = self.started_at
        if self.custody_since and self.started_at and self.custody_since > self.started_at:
            errors["started_at"] = ORDER_BEFORE_ARREST
        if self.limit_id and not self._extensions_within_ceiling():
            errors["extensions"] = past_ceiling(self.limit)
        elif self._police_extension_added() and not felony_stands(self.accused):
            errors["extensions"] = POLICE_EXTENSION_FELONY_ONLY
        raise_if(errors)

    def _extensions_within_ceiling(self) -> bool:
        if not clocks.extensions_allowed(self.limit, self.extensions):
            return False
        if not self.extensions or not self.custody_since:
            return True
        # The last extension must still move the clock: days held earlier in the case
        # may have brought the ceiling closer than the extensions reach.
        return clocks.can_extend(
            self.limit, self.custody_since, self.extensions - 1, self.held_earlier()
        )

    def held_earlier(self) -> int:
        """Days this person was held earlier in this case, in custody that ended before
        this one began (released, then arrested again), counted from each arrest to its
        release as this clock counts from its own. Only custody that reached a detention
        order counts: police custody (Art. 96) is per arrest, and its own clock has no
        share of the Art. 208/209 maximum."""
        if not (self.accused_id and self.custody_since and self.limit_id):
            return 0
        if self.limit.code == POLICE_CUSTODY:
            return 0
        earlier = (
            CustodyPeriod.objects.filter(
                accused_id=self.accused_id,
                custody_since__lt=self.custody_since,
                ended_at__isnull=False,
            )
            .exclude(pk=self.pk)
            .values("custody_since")
            .annotate(
                end=models.Max("ended_at"),
                ordered=models.Count("pk", filter=~Q(limit__code=POLICE_CUSTODY)),
            )
            .filter(ordered__gt=0)
            .order_by()
        )
        return clocks.days_spanned(
            (row["custody_since"], min(row["end"], self.custody_since)) for row in earlier
        )

    def _police_extension_added(self) -> bool:
        """An extension of police custody ordered by this edit (one already stored is
        left alone: the charges may have changed since it was granted)."""
        if not (self.limit_id and self.accused_id and self.extensions):
            return False
        if self.limit.code != POLICE_CUSTODY:
            return False
        stored = (
            CustodyPeriod.objects.filter(pk=self.pk, limit_id=self.limit_id)
            .values_list("extensions", flat=True)
            .first()
        )
        return self.extensions > (stored or 0)

    @property
    def days_held(self) -> int:
        """Days in custody since the arrest, whichever order holds the person now."""
        end = self.ended_at or timezone.now()
        return max((end - self.custody_since).days, 0)

    @property
    def days_left(self) -> int:
        return (timezone.localdate(self.runs_out_at) - timezone.localdate()).days

    @property
    def days_past(self) -> int:
        return max(-self.days_left, 0)

    @property
    def hours_left(self) -> int | None:
        """Whole hours left, under 72 hours (police custody runs in hours, Art. 96);
        None further off or once past. A display matter: "near" is warning_cutoff()."""
        seconds = (self.runs_out_at - timezone.now()).total_seconds()
        if 0 <= seconds < 72 * 3600:
            return int(seconds // 3600)
        return None

    @property
    def ceiling_at(self) -> dt.datetime:
        """The absolute maximum (Art. 208: 18 months; Art. 209: 6), less the days held
        earlier in this case: no extension passes it."""
        return clocks.ceiling(self.limit, self.custody_since, self.held_before)

    def can_extend(self) -> bool:
        """Whether one more extension is allowed (the law's count, and the ceiling)."""
        return clocks.can_extend(self.limit, self.custody_since, self.extensions, self.held_before)

    @property
    def in_hours(self) -> bool:
        return self.limit.unit == DetentionLimit.Unit.HOURS

    @property
    def is_past_limit(self) -> bool:
        return self.ended_at is None and self.runs_out_at < timezone.now()

    @property
    def is_near_limit(self) -> bool:
        """Near, not yet past: the same cut-off as the lists (``querysets.warning_cutoff``)."""
        return (
            self.ended_at is None and not self.is_past_limit and self.runs_out_at < warning_cutoff()
        )
