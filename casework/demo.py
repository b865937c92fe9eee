"""Word lists and proportions for ``manage.py seed_demo``: everything here is fictional.

Names are built by combining a family name and a given name, each with its
Khmer spelling and a few of the other romanisations people meet in reports
(Sorn / Sorng, Chamroeun / Chamreun). Combinations that belong to public
figures are avoided on purpose; any other match with a real person is chance.
"""

from .models import CaseStatus as S
from .models import CustodyStatus as C

# Latin, Khmer, other romanisations.
FAMILY_NAMES = [
    ("Sok", "សុខ", ["Sokh"]),
    ("Chan", "ចាន់", ["Chann"]),
    ("Kim", "គឹម", ["Kym"]),
    ("Keo", "កែវ", ["Kaev", "Kev"]),
    ("Heng", "ហេង", ["Hieng"]),
    ("Seng", "សេង", ["Sieng"]),
    ("Chea", "ជា", ["Chear"]),
    ("Lim", "លឹម", ["Lym"]),
    ("Ly", "លី", ["Lee"]),
    ("Meas", "មាស", ["Mias"]),
    ("Nuon", "នួន", ["Noun"]),
    ("Prak", "ប្រាក់", ["Prok"]),
    ("Tep", "ទេព", ["Teb"]),
    ("Touch", "ទូច", ["Tuch", "Toch"]),
    ("Ung", "អ៊ុង", ["Oung"]),
    ("Yim", "យឹម", ["Yem"]),
    ("Sorn", "សន", ["Sorng", "Son"]),
    ("Mao", "ម៉ៅ", ["Mau"]),
    ("Oum", "អ៊ុំ", ["Um"]),
    ("Pich", "ពេជ្រ", ["Pech"]),
    ("Nhem", "ញឹម", ["Nhim"]),
    ("Chhim", "ឈឹម", ["Chim"]),
    ("Long", "ឡុង", ["Loung"]),
    ("Vong", "វង្ស", ["Vung", "Vongs"]),
    ("Khim", "ឃឹម", ["Khem"]),
    ("Chhun", "ឈុន", ["Chun"]),
    ("Nov", "នូវ", ["Nou"]),
    ("Ros", "រស់", ["Ruos"]),
    ("Thach", "ថាច់", ["Thac"]),
    ("Eng", "អេង", ["Ing"]),
    ("Duong", "ដួង", ["Doung"]),
]

# Latin, Khmer, sex ("male" / "female"), other romanisations.
GIVEN_NAMES = [
    ("Vannak", "វណ្ណៈ", "male", ["Vannack", "Vanak"]),
    ("Dara", "ដារា", "male", ["Darra"]),
    ("Phirun", "ភិរុណ", "male", ["Phiroun"]),
    ("Kosal", "កុសល", "male", ["Kosaul"]),
    ("Sothea", "សុធា", "male", ["Sotheara"]),
    ("Piseth", "ពិសិដ្ឋ", "male", ["Pisith", "Piset"]),
    ("Rithy", "រិទ្ធី", "male", ["Rithi"]),
    ("Vibol", "វិបុល", "male", ["Vibul"]),
    ("Visal", "វិសាល", "male", ["Visale"]),
    ("Veasna", "វាសនា", "male", ["Veassna"]),
    ("Chamroeun", "ចំរើន", "male", ["Chamreun", "Chamroen"]),
    ("Samnang", "សំណាង", "male", ["Sam Nang"]),
    ("Sophal", "សុផល", "male", ["Sophorl"]),
    ("Sokhom", "សុខុម", "male", ["Sokhum"]),
    ("Vuthy", "វុទ្ធី", "male", ["Vuthi"]),
    ("Ratha", "រដ្ឋា", "male", ["Rotha"]),
    ("Bunthoeun", "ប៊ុនធឿន", "male", ["Bunthoeurn", "Bunthoen"]),
    ("Chhay", "ឆាយ", "male", ["Chay"]),
    ("Sothy", "សុធី", "male", ["Sothi"]),
    ("Pheakdey", "ភក្តី", "male", ["Pheakdei", "Pheakdy"]),
    ("Sokheng", "សុខហេង", "male", ["Sok Heng"]),
    ("Makara", "មករា", "male", ["Makkara"]),
    ("Seyha", "សីហា", "male", ["Sey Ha", "Seiha"]),
    ("Sorn", "សន", "male", ["Sorng"]),
    ("Sokha", "សុខា", "female", ["Sokhar"]),
    ("Chanthy", "ចន្ធី", "female", ["Chanthi"]),
    ("Sophea", "សោភា", "female", ["Sophear"]),
    ("Sopheap", "សុភាព", "female", ["Sopheab"]),
    ("Bopha", "បុប្ផា", "female", ["Bupha"]),
    ("Channary", "ច័ន្ទនារី", "female", ["Channari"]),
    ("Sreymom", "ស្រីមុំ", "female", ["Srey Mom"]),
    ("Sreyleak", "ស្រីល័ក្ខ", "female", ["Srey Leak"]),
    ("Rachana", "រចនា", "female", ["Rachna"]),
    ("Kunthea", "គន្ធា", "female", ["Kunthear"]),
    ("Malis", "ម្លិះ", "female", ["Maly"]),
    ("Nary", "នារី", "female", ["Nari"]),
    ("Thida", "ធីតា", "female", ["Theda"]),
    ("Leakhena", "លក្ខិណា", "female", ["Leakena"]),
    ("Sokunthea", "សុគន្ធា", "female", ["Sokunthear"]),
    ("Vanna", "វណ្ណា", "female", ["Vana"]),
    ("Sina", "ស៊ីណា", "female", ["Sinah"]),
    ("Kanha", "កញ្ញា", "female", ["Kagna", "Kanhha"]),
    ("Davy", "ដាវី", "female", ["Davi"]),
    ("Sreypov", "ស្រីពៅ", "female", ["Srey Pov"]),
]

# How the cases spread over the country: a few provinces hold most of them.
PROVINCE_WEIGHTS = {
    "KH-12": 22,  # Phnom Penh
    "KH-2": 12,  # Battambang
    "KH-8": 10,  # Kandal
    "KH-6": 9,  # Kampong Thom
    "KH-3": 9,  # Kampong Cham
    "KH-17": 4,
    "KH-5": 4,
    "KH-25": 4,
    "KH-14": 3,
    "KH-21": 3,
    "KH-1": 3,
    "KH-20": 2,
    "KH-7": 2,
    "KH-4": 2,
    "KH-15": 2,
    "KH-18": 2,
    "KH-10": 1,
    "KH-13": 1,
    "KH-19": 1,
    "KH-22": 1,
    "KH-9": 1,
    "KH-16": 1,
    "KH-11": 0.5,
    "KH-23": 0.5,
    "KH-24": 0.5,
}

AFFILIATIONS = [
    ("Former opposition party member", 40),
    ("Former opposition party official", 12),
    ("Opposition supporter", 10),
    ("Land rights activist", 8),
    ("Youth activist", 7),
    ("Trade union member", 6),
    ("Environmental activist", 5),
    ("Independent journalist", 4),
    ("Online commentator", 5),
    ("Human rights defender", 3),
]

FORMER_ROLES = [
    ("", 45),
    ("former commune councillor", 18),
    ("former commune chief", 5),
    ("former deputy commune chief", 4),
    ("former district councillor", 5),
    ("former provincial councillor", 3),
    ("former party branch secretary", 6),
    ("former party youth leader", 5),
    ("former village representative", 5),
    ("former election observer", 4),
]

OCCUPATIONS = [
    ("rice farmer", 22),
    ("teacher", 8),
    ("market vendor", 10),
    ("motorbike taxi driver", 6),
    ("tuk-tuk driver", 4),
    ("garment worker", 9),
    ("construction worker", 6),
    ("fisher", 4),
    ("shop owner", 5),
    ("student", 6),
    ("NGO worker", 3),
    ("journalist", 2),
    ("monk", 2),
    ("unemployed", 5),
    ("", 8),
]

# Officials charged together while abroad: the "eight officials" kind of case.
EXILE_ROLES = [
    "former party vice-president",
    "former member of parliament",
    "former provincial party chief",
    "former party spokesperson",
    "former senator",
    "former party steering committee member",
]

# What the authorities pointed to, in fictional summaries.
TRIGGERS = [
    "a Facebook post criticising the government",
    "a speech at a commune meeting",
    "organising a protest over a land dispute",
    "sharing a video of exiled opposition leaders",
    "comments on a radio call-in programme",
    "collecting thumbprints for a petition",
    "meeting former party members at a wedding",
    "a live video about a border dispute",
    "distributing leaflets calling for the release of detainees",
    "wearing a T-shirt with a banned party's logo",
]

LAWYER_ORGANISATIONS = [
    ("Legal Aid Cambodia (fictional)", 30),
    ("Mekong Defenders Project (fictional)", 20),
    ("Tonle Sap Rights Law Office (fictional)", 15),
    ("Angkor Justice Partners (fictional)", 10),
    ("Independent practice", 25),
]

RELATIONS = ["Wife", "Husband", "Mother", "Father", "Sister", "Brother", "Daughter", "Son"]

HIDING_WHEREABOUTS = [
    "Moving between relatives' homes; location withheld.",
    "Staying outside the home province; contact through the family only.",
    "Hiding near the border; reached by phone every few weeks.",
]

EXILE_WHEREABOUTS = [
    "Abroad, in a neighbouring country; registered with the UN refugee agency.",
    "Abroad; country withheld for safety.",
    "Resettled abroad; in touch through a lawyer.",
]

HELD_OUTCOMES = {
    "questioning": [
        "Questioned for three hours by the investigating judge; lawyer present.",
        "Questioned about social media posts; asked to sign a statement.",
        "Questioned and returned to prison.",
        "Questioned without a lawyer; monitor not allowed in the room.",
    ],
    "bail": [
        "Bail hearing held; decision reserved.",
        "Bail refused: the judge cited a risk of reoffending.",
        "Bail hearing held; prosecutor opposed release.",
    ],
    "trial": [
        "Trial session held; two prosecution witnesses heard.",
        "Trial session held; defence asked for the posts to be shown in court.",
        "Trial held in absentia; judgment to be announced.",
        "Trial session held; the accused denied the charges.",
    ],
    "verdict": [
        "Convicted; sentenced to 2 years in prison.",
        "Convicted; sentenced to 18 months, part suspended.",
        "Convicted in absentia; sentenced to 5 years.",
        "Acquitted of all charges.",
        "Charges dropped; case dismissed.",
    ],
    "appeal": [
        "Appeal heard; decision to be announced.",
        "Appeal rejected; sentence upheld.",
        "Appeal hearing held; sentence reduced.",
    ],
}

POSTPONED_NOTES = [
    "Postponed: the judge was absent.",
    "Postponed at the prosecutor's request.",
    "Postponed: the accused was not brought from prison.",
    "Postponed: defence lawyer asked for time to read the file.",
]

CANCELLED_NOTES = [
    "Cancelled by the court without explanation.",
    "Cancelled after the charges were reclassified.",
]

BAIL_DENIED_REASONS = [
    "Denied: the court said release could disturb public order.",
    "Denied: risk of flight.",
    "Denied without reasons given.",
    "Denied: the investigation is still ongoing.",
]

BAIL_GRANTED_CONDITIONS = [
    "Granted under judicial supervision: report to the police weekly.",
    "Granted: must not leave the province or post on social media.",
    "Granted on a guarantee from a family member.",
]

BAIL_WITHDRAWN_REASONS = [
    "Withdrawn by the lawyer to file again with medical evidence.",
    "Withdrawn after the case was sent to trial.",
]

SOURCE_DETAILS = {
    "report": ["Monitoring report (fictional)", "Partner NGO bulletin (fictional)"],
    "lawyer": ["Phone call with the lawyer", "Lawyer's visit notes"],
    "family": ["Phone call with the family", "Visit by a relative"],
    "monitor": ["Court monitoring notes", "Prison visit by the NGO monitor"],
    "court": ["Court summons", "Detention order", "Court judgment"],
    "other": ["Local media report", "Social media post by a relative"],
}

# What a case has come to, by how long ago it was opened: old cases are mostly over.
STATUS_BY_AGE = [
    (60, {S.SUMMONED: 30, S.UNDER_INVESTIGATION: 45, S.CHARGED: 22, S.DISMISSED: 3}),
    (
        240,
        {S.SUMMONED: 6, S.UNDER_INVESTIGATION: 27, S.CHARGED: 30, S.ON_TRIAL: 14, S.CONVICTED: 6}
        | {S.ON_APPEAL: 2, S.ACQUITTED: 2, S.DISMISSED: 7, S.CLOSED: 6},
    ),
    (
        540,
        {S.UNDER_INVESTIGATION: 8, S.CHARGED: 12, S.ON_TRIAL: 12, S.CONVICTED: 22, S.ON_APPEAL: 10}
        | {S.ACQUITTED: 5, S.DISMISSED: 11, S.CLOSED: 20},
    ),
    (
        10_000,
        {S.UNDER_INVESTIGATION: 3, S.CHARGED: 4, S.ON_TRIAL: 4, S.CONVICTED: 20, S.ON_APPEAL: 10}
        | {S.ACQUITTED: 6, S.DISMISSED: 15, S.CLOSED: 38},
    ),
]
# Where each accused stands today, by the case's status.
CUSTODY_BY_STATUS = {
    S.SUMMONED: {C.AT_LIBERTY: 72, C.IN_HIDING: 12, C.IN_EXILE: 6, C.UNKNOWN: 10},
    S.UNDER_INVESTIGATION: {C.PRETRIAL: 48, C.RELEASED_ON_BAIL: 10, C.AT_LIBERTY: 22}
    | {C.IN_HIDING: 10, C.IN_EXILE: 7, C.UNKNOWN: 3},
    S.CHARGED: {C.PRETRIAL: 48, C.RELEASED_ON_BAIL: 15, C.AT_LIBERTY: 17}
    | {C.IN_HIDING: 10, C.IN_EXILE: 10},
    S.ON_TRIAL: {C.PRETRIAL: 50, C.RELEASED_ON_BAIL: 20, C.AT_LIBERTY: 17}
    | {C.IN_EXILE: 8, C.IN_HIDING: 5},
    S.CONVICTED: {C.SERVING_SENTENCE: 62, C.IN_EXILE: 14, C.IN_HIDING: 7}
    | {C.AT_LIBERTY: 15, C.DECEASED: 2},
    S.ON_APPEAL: {C.SERVING_SENTENCE: 55, C.RELEASED_ON_BAIL: 18, C.IN_EXILE: 10, C.AT_LIBERTY: 17},
    S.ACQUITTED: {C.AT_LIBERTY: 94, C.IN_EXILE: 6},
    S.DISMISSED: {C.AT_LIBERTY: 89, C.IN_EXILE: 7, C.IN_HIDING: 4},
    S.CLOSED: {C.AT_LIBERTY: 80, C.IN_EXILE: 8, C.UNKNOWN: 9, C.DECEASED: 3},
}
# Most political cases bring incitement; the rest get a small share each.
CHARGE_WEIGHTS = {
    "Incitement to commit a felony": 30,
    "Plotting": 8,
    "Public insult": 8,
    "Public defamation": 6,
    "Disinformation": 6,
    "Insulting a public official": 5,
}

# Who told the NGO about an event.
EVENT_SOURCES = {"report": 20, "lawyer": 25, "family": 20, "monitor": 20, "court": 10, "other": 5}


# A death in custody (issue 13): where, the cause the authorities gave, and whether an
# independent examination took place. Fictional.
DEATH_PLACES = [
    "Provincial prison infirmary",
    "District police station cell",
    "Provincial referral hospital, under guard",
    "Correctional Centre 1, Phnom Penh",
]
STATED_CAUSES = [
    "Heart failure, according to the prison director.",
    "Suicide, according to the police commissioner.",
    "Illness (diabetes), according to the provincial authorities.",
    "The authorities gave no cause.",
]
EXAMINATIONS = {"yes": 15, "no": 55, "requested": 30}
