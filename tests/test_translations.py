"""Every interface string has a Khmer translation, and the compiled catalogue is current."""

import gettext
import re
from pathlib import Path

from django.conf import settings

PO = Path(settings.BASE_DIR) / "locale" / "km" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def entries():
    """(msgid, [msgstr...], flags) for each entry of the .po file, header excluded."""
    blocks = PO.read_text(encoding="utf-8").split("\n\n")
    for block in blocks:
        lines = [line for line in block.splitlines() if line.strip()]
        flags = " ".join(line for line in lines if line.startswith("#,"))
        text = "\n".join(line for line in lines if not line.startswith("#"))
        match = re.search(r'^msgid ((?:".*"\n?)+)', text, re.M)
        if not match:
            continue
        msgid = "".join(re.findall(r'"(.*)"', match.group(1)))
        if not msgid:
            continue
        strs = re.findall(r'^msgstr(?:\[\d\])? ((?:".*"\n?)+)', text, re.M)
        yield msgid, ["".join(re.findall(r'"(.*)"', s)) for s in strs], flags


def test_catalogue_has_no_untranslated_or_fuzzy_entries():
    found = list(entries())
    assert len(found) > 400
    untranslated = [msgid for msgid, strs, _ in found if not all(strs)]
    fuzzy = [msgid for msgid, _, flags in found if "fuzzy" in flags]
    assert not untranslated, f"Untranslated: {untranslated[:10]}"
    assert not fuzzy, f"Fuzzy: {fuzzy[:10]}"


def test_compiled_catalogue_is_current():
    with MO.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    missing = [
        msgid
        for msgid, strs, _ in entries()
        if "\\" not in msgid and catalogue.gettext(msgid) == msgid and strs[0] != msgid
    ]
    assert not missing, f"Run `make messages`: the .mo lacks {missing[:5]}"
