"""The PDFs' text gives back Khmer exactly as it was typed: a name searched for
or copied out of a dossier or a report is the name on file.

pdftotext (poppler) reads the PDF as a reader's search or copy does.
"""

import re
import shutil
import subprocess
import unicodedata
import zlib

import pytest
from django.utils import translation

from . import factories as f
from .conftest import run_jobs

PDFTOTEXT = shutil.which("pdftotext") or "/usr/bin/pdftotext"

# Names whose shaping reorders or merges letters: the coeng ro drawn before its
# base (ស្រ៊ុន, ព្រហ្ម), stacked subscripts (រដ្ឋា, ច័ន្ទ), vowels above and
# below, and a short name (សុខ) whose glyphs also occur in longer clusters.
NAMES = {
    "Srun Theary": "ស្រ៊ុន ធារី",
    "Sok Rotha": "សុខ រដ្ឋា",
    "Prum Chanreaksmey": "ព្រហ្ម ច័ន្ទរស្មី",
    "Khieu Kanharith": "ខៀវ កាញារីទ្ធ",
    "Preap Sovath": "ព្រាប សុវត្ថិ",
}


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def pdf_text(response) -> str:
    assert response["Content-Type"] == "application/pdf"
    out = subprocess.run(  # noqa: S603  (our fixed command, the PDF on stdin)
        [PDFTOTEXT, "-", "-"], input=response.content, capture_output=True, check=True
    )
    return nfc(out.stdout.decode())


@pytest.fixture
def khmer_people(own_case):
    people = []
    for latin, khmer in NAMES.items():
        accused = f.add_accused(
            own_case,
            f.make_detainee(latin, name_khmer=khmer),
            custody_status="pretrial_detention",
        )
        f.hold(accused, days_ago=20)
        people.append(accused.detainee)
    return people


@pytest.fixture
def khmer_admin(admin_client_):
    admin_client_.cookies["django_language"] = "km"
    return admin_client_


def test_khmer_dossier_gives_back_every_khmer_name_as_typed(khmer_admin, khmer_people):
    for person in khmer_people:
        text = pdf_text(khmer_admin.get(f"/detainees/{person.pk}/dossier.pdf"))
        assert nfc(person.name_khmer) in text, (person.name_khmer, text[:400])
        # The Khmer interface text comes back as written as well.
        with translation.override("km"):
            for label in ["Identity", "Cases", "Hearings", "Bail requests"]:
                assert nfc(translation.gettext(label)) in text, label


def test_khmer_report_gives_back_every_khmer_name_as_typed(khmer_admin, khmer_people):
    # The report's PDF is made by a background job (jobs/), in the asker's language.
    job_page = khmer_admin.get("/reports/report.pdf")
    assert job_page.status_code == 302
    run_jobs()
    state = khmer_admin.get(job_page["Location"].rstrip("/") + "/status.json").json()
    download = khmer_admin.get(state["file_url"])
    assert download["Content-Type"] == "application/pdf"
    out = subprocess.run(  # noqa: S603  (our fixed command, the PDF on stdin)
        [PDFTOTEXT, "-", "-"],
        input=b"".join(download.streaming_content),
        capture_output=True,
        check=True,
    )
    text = nfc(out.stdout.decode())
    for person in khmer_people:
        assert nfc(person.name_khmer) in text, (person.name_khmer, text[:400])


def test_latin_text_is_left_to_the_font_map(admin_client_, khmer_people):
    """Only lines with Khmer get an ActualText span: Latin text keeps the
    ordinary glyph map, and comes back as written."""
    response = admin_client_.get(f"/detainees/{khmer_people[0].pk}/dossier.pdf")
    text = pdf_text(response)
    assert "Srun Theary" in text and "BTB-0001" in text
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", response.content, re.S)
    content = b"".join(zlib.decompress(s) for s in streams if s[:1] == b"x")
    spans = content.count(b"/ActualText")
    # The Khmer name (title and identity table), not every line of the file.
    assert 2 <= spans < content.count(b" Tf"), spans
