"""Pages rendered in Khmer show no English interface text.

Every ASCII word left on a page, once the record data (references, Latin
names, usernames) is taken out, is interface text someone forgot to mark
for translation or to translate.
"""

import re
from html.parser import HTMLParser

import pytest

from . import factories as f

# Codes and proper names that stay in Latin script in the Khmer interface.
ALLOWED = {"KH", "Art", "ISO", "IP", "bis", "English", "BTB", "PNH", "CW"}
# Examples of variant romanisations in a help text.
ALLOWED |= {"Sorn", "Sorng", "Chamroeun", "Chamreun"}


class TextOnly(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        for name, value in attrs:  # what a reader sees or hears of attributes
            if name in ("placeholder", "title", "aria-label", "alt") and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def english_words(html: str, data: list[str]) -> set[str]:
    parser = TextOnly()
    parser.feed(html)
    text = " ".join(parser.parts)
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ")
    words = set(re.findall(r"[A-Za-z]{2,}", text))
    return {w for w in words if w not in ALLOWED}


@pytest.fixture
def khmer_client(caseworker_client):
    caseworker_client.cookies["django_language"] = "km"
    return caseworker_client


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/cases/",
        "/cases/?province=XX",
        "/cases/{case}/",
        "/cases/{case}/edit/",
        "/cases/{case}/hearings/new/",
        "/cases/{case}/bail-requests/new/",
        "/cases/{case}/events/new/",
        "/cases/{case}/lawyers/new/",
        "/cases/new/",
        "/detainees/",
        "/detainees/{person}/",
        "/hearings/",
        "/lawyers/",
        "/no-such-page/",
    ],
)
def test_page_in_khmer_has_no_english_interface_text(khmer_client, own_case, caseworker, path):
    person = own_case.accused.first().detainee
    lawyer = f.make_lawyer("Lawyer Sopheap")
    f.represent(lawyer, own_case.accused.first())
    url = path.format(case=own_case.pk, person=person.pk)
    response = khmer_client.get(url)
    assert response.status_code in (200, 404)
    data = [
        own_case.reference,
        person.name_latin,
        "Sister, 012 000 111",
        caseworker.username,
        str(caseworker),
        lawyer.name,
        "XX",
    ]
    leftover = english_words(response.content.decode(), data)
    assert not leftover, f"{url} shows English in Khmer: {sorted(leftover)}"
