"""Reference data Casework ships with. Admins may edit it afterwards.

Kept as plain data so the data migration and the tests read the same list.
"""

# ISO 3166-2:KH codes, English and Khmer names: 24 provinces and the capital.
PROVINCES = [
    ("KH-1", "Banteay Meanchey", "បន្ទាយមានជ័យ"),
    ("KH-2", "Battambang", "បាត់ដំបង"),
    ("KH-3", "Kampong Cham", "កំពង់ចាម"),
    ("KH-4", "Kampong Chhnang", "កំពង់ឆ្នាំង"),
    ("KH-5", "Kampong Speu", "កំពង់ស្ពឺ"),
    ("KH-6", "Kampong Thom", "កំពង់ធំ"),
    ("KH-7", "Kampot", "កំពត"),
    ("KH-8", "Kandal", "កណ្ដាល"),
    ("KH-9", "Koh Kong", "កោះកុង"),
    ("KH-10", "Kratie", "ក្រចេះ"),
    ("KH-11", "Mondulkiri", "មណ្ឌលគិរី"),
    ("KH-12", "Phnom Penh", "ភ្នំពេញ"),
    ("KH-13", "Preah Vihear", "ព្រះវិហារ"),
    ("KH-14", "Prey Veng", "ព្រៃវែង"),
    ("KH-15", "Pursat", "ពោធិ៍សាត់"),
    ("KH-16", "Ratanakiri", "រតនគិរី"),
    ("KH-17", "Siem Reap", "សៀមរាប"),
    ("KH-18", "Preah Sihanouk", "ព្រះសីហនុ"),
    ("KH-19", "Stung Treng", "ស្ទឹងត្រែង"),
    ("KH-20", "Svay Rieng", "ស្វាយរៀង"),
    ("KH-21", "Takeo", "តាកែវ"),
    ("KH-22", "Oddar Meanchey", "ឧត្តរមានជ័យ"),
    ("KH-23", "Kep", "កែប"),
    ("KH-24", "Pailin", "ប៉ៃលិន"),
    ("KH-25", "Tbong Khmum", "ត្បូងឃ្មុំ"),
]

CAPITAL = "KH-12"


def first_instance_court_names(code: str, name_en: str, name_km: str) -> tuple[str, str]:
    if code == CAPITAL:
        return "Phnom Penh Municipal Court of First Instance", "សាលាដំបូងរាជធានីភ្នំពេញ"
    return f"{name_en} Provincial Court of First Instance", f"សាលាដំបូងខេត្ត{name_km}"


NATIONAL_COURTS = [
    ("appeal", "Appeal Court", "សាលាឧទ្ធរណ៍"),
    ("supreme", "Supreme Court", "តុលាការកំពូល"),
]

# Charges most often brought against political activists, with their Criminal Code article.
CHARGES = [
    ("Art. 494-495", "Incitement to commit a felony", "ញុះញង់ឱ្យប្រព្រឹត្តបទឧក្រិដ្ឋ"),
    ("Art. 453", "Plotting", "ការឃុបឃិត"),
    ("Art. 443", "Conspiracy with a foreign power", "ការឃុបឃិតជាមួយរដ្ឋបរទេស"),
    ("Art. 451", "Attack on state institutions", "ការវាយប្រហារស្ថាប័នរដ្ឋ"),
    ("Art. 305", "Public defamation", "ការបរិហារកេរ្តិ៍ជាសាធារណៈ"),
    ("Art. 307", "Public insult", "ការប្រមាថជាសាធារណៈ"),
    ("Art. 502", "Insulting a public official", "ការប្រមាថមន្ត្រីសាធារណៈ"),
    ("Art. 437 bis", "Lèse-majesté", "បទល្មើសប្រមាថព្រះមហាក្សត្រ"),
    ("Art. 522", "Discrediting a judicial decision", "ការធ្វើឱ្យខូចកិត្តិយសសេចក្ដីសម្រេចតុលាការ"),
    ("Art. 425", "Disinformation", "ការផ្សព្វផ្សាយព័ត៌មានមិនពិត"),
    ("Art. 471", "Incitement of military personnel to disobey", "ញុះញង់យោធាឱ្យមិនគោរពបញ្ជា"),
]

# The class of each shipped charge (Criminal Code, 2009), by the heaviest prison term its
# article carries: felony above 5 years, misdemeanour above 6 days up to 5 years, petty
# offence 6 days or less or a fine only. Set by migration 0011; admins can change them.
# docs/architecture.md lists the ones to check against the Code's text.
CHARGE_CLASSES = {
    "Incitement to commit a felony": "misdemeanour",  # Art. 495: 6 months to 2 years
    "Plotting": "felony",  # Art. 453: 5 to 10 years
    "Conspiracy with a foreign power": "felony",  # Art. 443: 15 to 30 years
    "Attack on state institutions": "felony",  # Art. 451: 15 to 30 years
    "Public defamation": "petty_offence",  # Art. 305: a fine only
    "Public insult": "petty_offence",  # Art. 307: a fine only
    "Insulting a public official": "petty_offence",  # Art. 502: 1 to 6 days
    "Lèse-majesté": "misdemeanour",  # Art. 437 bis: 1 to 5 years
    "Discrediting a judicial decision": "misdemeanour",  # Art. 522: 1 to 6 months
    "Disinformation": "misdemeanour",  # Art. 425: 1 to 2 years
    "Incitement of military personnel to disobey": "misdemeanour",  # Art. 471: 1 to 5 years
}

# Code of Criminal Procedure (2007). Admins can change these.
DETENTION_LIMITS = [
    # code, English, Khmer, article, unit, initial, extension, max extensions, maximum
    (
        "police-custody",
        "Police custody",
        "ការឃាត់ខ្លួន",
        "Art. 96",
        "hours",
        48,
        24,
        1,
        72,
    ),
    (
        "pretrial-felony",
        "Pre-trial detention, felony (adult)",
        "ការឃុំខ្លួនបណ្ដោះអាសន្ន បទឧក្រិដ្ឋ",
        "Art. 208",
        "months",
        6,
        6,
        None,
        18,
    ),
    (
        "pretrial-misdemeanour",
        "Pre-trial detention, misdemeanour (adult)",
        "ការឃុំខ្លួនបណ្ដោះអាសន្ន បទមជ្ឈិម",
        "Art. 209",
        "months",
        4,
        2,
        1,
        6,
    ),
    (
        "immediate-appearance",
        "Immediate appearance",
        "ការបង្ហាញខ្លួនភ្លាមៗ",
        "Art. 304",
        "days",
        14,
        0,
        0,
        14,
    ),
]


def load(apps, schema_editor):
    Province = apps.get_model("casework", "Province")
    Court = apps.get_model("casework", "Court")
    Charge = apps.get_model("casework", "Charge")
    DetentionLimit = apps.get_model("casework", "DetentionLimit")
    for code, name_en, name_km in PROVINCES:
        province, _ = Province.objects.update_or_create(
            code=code, defaults={"name_en": name_en, "name_km": name_km}
        )
        court_en, court_km = first_instance_court_names(code, name_en, name_km)
        Court.objects.update_or_create(
            name_en=court_en,
            defaults={"name_km": court_km, "level": "first_instance", "province": province},
        )
    for level, name_en, name_km in NATIONAL_COURTS:
        Court.objects.update_or_create(
            name_en=name_en, defaults={"name_km": name_km, "level": level, "province": None}
        )
    # Migration 0002 runs this before charges had a class (0010 added it, 0011 sets it);
    # the test suite's reload after a flush runs it with the class.
    classified = any(field.name == "classification" for field in Charge._meta.fields)
    for article, name_en, name_km in CHARGES:
        defaults = {"name_km": name_km, "article": article}
        if classified:
            defaults["classification"] = CHARGE_CLASSES.get(name_en, "")
        Charge.objects.update_or_create(name_en=name_en, defaults=defaults)
    for (
        code,
        name_en,
        name_km,
        article,
        unit,
        initial,
        extension,
        max_ext,
        maximum,
    ) in DETENTION_LIMITS:
        DetentionLimit.objects.update_or_create(
            code=code,
            defaults={
                "name_en": name_en,
                "name_km": name_km,
                "article": article,
                "unit": unit,
                "initial": initial,
                "extension": extension,
                "max_extensions": max_ext,
                "maximum": maximum,
            },
        )
