"""The columns an import file may have, and the template file built from them."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy

# References of the template's example row: refused, so the example is never imported.
EXAMPLE_PREFIX = "EXAMPLE-"


@dataclass(frozen=True)
class Column:
    key: str
    label: object
    help: object
    example: str = ""
    required: bool = False


COLUMNS = [
    Column(
        "reference",
        gettext_lazy("NGO reference"),
        gettext_lazy(
            "Required. Rows with the same reference are one case: repeat it on the row of "
            "each accused. An existing case is updated, a new reference opens a case."
        ),
        "EXAMPLE-0001",
        required=True,
    ),
    Column("court_case_number", gettext_lazy("Court case number"), "", "123/2026"),
    Column("title", gettext_lazy("Short title"), "", "Commune councillors summoned"),
    Column(
        "province",
        gettext_lazy("Province"),
        gettext_lazy("Needed for a new case. ISO code (KH-2) or name, in English or Khmer."),
        "KH-2",
    ),
    Column(
        "court",
        gettext_lazy("Court"),
        gettext_lazy("The court's name as the app lists it, in English or Khmer."),
        "Battambang Provincial Court of First Instance",
    ),
    Column(
        "status",
        gettext_lazy("Case status"),
        gettext_lazy(
            "summoned, under_investigation, charged, on_trial, convicted, acquitted, "
            "dismissed, on_appeal or closed (or the name the app shows)."
        ),
        "charged",
    ),
    Column(
        "opened_on",
        gettext_lazy("Opened on"),
        gettext_lazy("A date as YYYY-MM-DD. A new case without one is opened today."),
        "2026-03-02",
    ),
    Column(
        "charges",
        gettext_lazy("Charges"),
        gettext_lazy(
            "Criminal Code articles or charge names, separated by “;”. "
            "Added to the case's charges; none is removed."
        ),
        "Art. 494-495; Art. 453",
    ),
    Column(
        "caseworker",
        gettext_lazy("Caseworker"),
        gettext_lazy("User name of an active caseworker who works in the case's province."),
        "",
    ),
    Column(
        "person_id",
        gettext_lazy("Person number"),
        gettext_lazy(
            "For a person already on file: their number (the “Person number” column "
            "of the people export). Empty for someone new."
        ),
        "",
    ),
    Column(
        "name_latin",
        gettext_lazy("Name (Latin script)"),
        gettext_lazy("Required."),
        "Example Person",
        required=True,
    ),
    Column("name_khmer", gettext_lazy("Name (Khmer script)"), "", "គំរូ ឈ្មោះ"),
    Column(
        "aliases",
        gettext_lazy("Other spellings and aliases"),
        gettext_lazy("Separated by “;”. Added to those on file."),
        "Exampel Person",
    ),
    Column("sex", gettext_lazy("Sex"), gettext_lazy("female, male, other or unknown."), "female"),
    Column("birth_year", gettext_lazy("Year of birth"), "", "1985"),
    Column("birth_date", gettext_lazy("Date of birth"), gettext_lazy("YYYY-MM-DD."), ""),
    Column(
        "home_province",
        gettext_lazy("Home province"),
        gettext_lazy("ISO code or name."),
        "KH-2",
    ),
    Column("affiliation", gettext_lazy("Political affiliation"), "", ""),
    Column("former_role", gettext_lazy("Former role"), "", "former commune councillor"),
    Column("occupation", gettext_lazy("Occupation"), "", "farmer"),
    Column(
        "custody_status",
        gettext_lazy("Custody status"),
        gettext_lazy(
            "For this person in this case, used when they are added to the case: "
            "police_custody, pretrial_detention, serving_sentence, released_on_bail, "
            "at_liberty, in_hiding, in_exile, deceased or unknown (the default)."
        ),
        "at_liberty",
    ),
]
KEYS = [column.key for column in COLUMNS]
LABELS = {column.key: column.label for column in COLUMNS}


def template_header() -> list[str]:
    return list(KEYS)


def template_example() -> list[str]:
    return [column.example for column in COLUMNS]
