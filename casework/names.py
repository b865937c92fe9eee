"""Names across scripts: a rough romanisation of Khmer and a phonetic key.

The same person is often entered once in Khmer script and once romanised, and
romanisations vary (Sorn/Sorng, Chamroeun/Chamreun). To warn about likely
duplicates we reduce every name, in either script, to a consonant skeleton:
vowels are where romanisations disagree most, consonants where they agree.

The key over-matches on purpose: it only raises a warning, which the form
narrows further by birth year, and a person decides.
"""

import unicodedata

# Khmer consonants, romanised roughly after UNGEGN / common NGO usage.
CONSONANTS = {
    "ក": "k", "ខ": "kh", "គ": "k", "ឃ": "kh", "ង": "ng",
    "ច": "ch", "ឆ": "chh", "ជ": "ch", "ឈ": "chh", "ញ": "nh",
    "ដ": "d", "ឋ": "th", "ឌ": "d", "ឍ": "th", "ណ": "n",
    "ត": "t", "ថ": "th", "ទ": "t", "ធ": "th", "ន": "n",
    "ប": "b", "ផ": "ph", "ព": "p", "ភ": "ph", "ម": "m",
    "យ": "y", "រ": "r", "ល": "l", "វ": "v",
    "ឝ": "s", "ឞ": "s", "ស": "s", "ហ": "h", "ឡ": "l", "អ": "",
}  # fmt: skip
VOWELS = {
    "ា": "a", "ិ": "e", "ី": "ei", "ឹ": "oe", "ឺ": "eu", "ុ": "o", "ូ": "ou",
    "ួ": "uo", "ើ": "aeu", "ឿ": "oea", "ៀ": "ie", "េ": "e", "ែ": "ae", "ៃ": "ai",
    "ោ": "ao", "ៅ": "au", "ំ": "m", "ះ": "h", "ៈ": "ak",
    "ឥ": "e", "ឦ": "ei", "ឧ": "o", "ឩ": "ou", "ឪ": "ov", "ឫ": "rue", "ឬ": "rueu",
    "ឭ": "lue", "ឮ": "lueu", "ឯ": "ae", "ឰ": "ai", "ឱ": "ao", "ឲ": "ao", "ឳ": "au",
}  # fmt: skip
COENG = "\u17d2"  # subscript marker: the next consonant is written below

# Spellings that romanisations use interchangeably, longest first.
DIGRAPHS = [("chh", "c"), ("ch", "c"), ("kh", "k"), ("ph", "p"), ("th", "t"),
            ("nh", "n"), ("gn", "n"), ("ng", "n")]  # fmt: skip
SAME_SOUND = str.maketrans({"d": "t", "b": "p", "g": "k", "j": "c", "q": "k", "w": "v",
                            "z": "s", "x": "s", "f": "p"})  # fmt: skip
VOWEL_LETTERS = set("aeiouyh")


def fold(text: str) -> str:
    """Lower-case and strip Latin accents; Khmer is kept as typed (NFC).

    Khmer vowels and signs are combining marks: removing them would erase the
    name, so only marks on Latin letters are dropped.
    """
    decomposed = unicodedata.normalize("NFD", text or "")
    kept = []
    previous = ""
    for char in decomposed:
        if unicodedata.combining(char) and previous.isascii():
            continue
        kept.append(char)
        if not unicodedata.combining(char):
            previous = char
    return " ".join(unicodedata.normalize("NFC", "".join(kept)).casefold().split())


def is_khmer(text: str) -> bool:
    return any("\u1780" <= char <= "\u17ff" for char in text)


def romanise(khmer: str) -> str:
    out = []
    for char in unicodedata.normalize("NFC", khmer):
        if char == COENG:
            continue
        if char in CONSONANTS:
            out.append(CONSONANTS[char])
        elif char in VOWELS:
            out.append(VOWELS[char])
        elif "\u1780" <= char <= "\u17ff":
            continue  # diacritics and signs that do not change the consonants
        else:
            out.append(char)
    return "".join(out)


def skeleton(token: str) -> str:
    """The consonants of one romanised word, with interchangeable spellings merged."""
    word = fold(romanise(token) if is_khmer(token) else token)
    word = "".join(char for char in word if char.isalpha())
    for digraph, single in DIGRAPHS:
        word = word.replace(digraph, single)
    word = word.translate(SAME_SOUND)
    consonants = [char for char in word if char not in VOWEL_LETTERS]
    collapsed = [c for i, c in enumerate(consonants) if i == 0 or c != consonants[i - 1]]
    if len(collapsed) > 1 and collapsed[-1] == "v":
        collapsed.pop()  # a final វ is sounded as a vowel: កែវ is Keo, ទេវ is Tev or Teo
    return "".join(collapsed)


def name_key(name: str) -> str:
    """A whole name's key: each word's skeleton, in sorted order (word order varies)."""
    parts = sorted(filter(None, (skeleton(token) for token in fold(name).split())))
    return " ".join(parts)


def name_keys(*names: str) -> str:
    """All keys of a person's names and aliases, stored as ``|key|key|`` for lookups."""
    keys = sorted({key for key in (name_key(n) for n in names if n) if key})
    return "|" + "|".join(keys) + "|" if keys else ""


MAX_SEARCH_TERMS = 8


def search_terms(text: str) -> list[str]:
    """The distinct words of a search, at most eight: a name has fewer, and a
    pasted paragraph must not become a thousand-clause query."""
    return list(dict.fromkeys(fold(text).split()))[:MAX_SEARCH_TERMS]
