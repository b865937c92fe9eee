"""PDFs from HTML templates with WeasyPrint, using the fonts shipped in reports/fonts/.

Noto Sans Khmer (with Noto Sans for Latin text) is shipped with the app, so
Khmer names are shaped the same on any server, whatever fonts it has. The
renderer may read those font files and nothing else: no network, no other
file, whatever a record contains.

Khmer text carries its own words in the PDF (ActualText), so that searching,
copying and pdftotext give back what was typed. WeasyPrint 70 maps each glyph
to one piece of text (the PDF font's ToUnicode map) and keeps the first it sees:
Khmer shaping reuses a glyph in several clusters (the coeng ro drawn before its
base, a vowel sign drawn apart from its consonant), so ស្រ៊ុន came back as
"ស្រ៊ ុន" and a later សុខ as "ស្រុខ", whatever the font or its subsetting. A
glyph-to-text map cannot express Khmer; a marked-content span with ActualText
(PDF 32000-1, 14.9.4) gives a whole line's text at once, and PDF readers
(poppler, pdf.js, Acrobat) use it in place of the glyph map.
"""

import logging
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.template.loader import render_to_string

# WeasyPrint reports every rendering step at INFO; keep its warnings only.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

import pydyf  # noqa: E402
from weasyprint import HTML  # noqa: E402  (after quietening its logger)
from weasyprint.draw import text as weasyprint_text  # noqa: E402
from weasyprint.urls import URLFetcher  # noqa: E402

FONTS_DIR = (Path(__file__).resolve().parent / "fonts").resolve()

FONT_FACES = [
    ("Casework Sans", "NotoSans-Regular.ttf", 400),
    ("Casework Sans", "NotoSans-Bold.ttf", 700),
    ("Casework Khmer", "NotoSansKhmer-Regular.ttf", 400),
    ("Casework Khmer", "NotoSansKhmer-Bold.ttf", 700),
]


def font_css() -> str:
    rules = [
        f'@font-face {{ font-family: "{family}"; font-weight: {weight}; '
        f'src: url("{(FONTS_DIR / filename).as_uri()}"); }}'
        for family, filename, weight in FONT_FACES
    ]
    # Khmer first: its font covers Latin digits and punctuation too, and Noto Sans
    # takes every Latin letter it lacks.
    rules.append('body { font-family: "Casework Sans", "Casework Khmer", sans-serif; }')
    # A Khmer name stays on one line: WeasyPrint finds no word breaks in Khmer and would
    # cut a name between clusters, which a search or a copy then reads as two words.
    rules.append(
        '.km { font-family: "Casework Khmer", "Casework Sans", sans-serif; white-space: nowrap; }'
    )
    return "\n".join(rules)


KHMER = re.compile(r"[\u1780-\u17ff\u19e0-\u19ff]")
_draw_first_line = weasyprint_text.draw_first_line


def _draw_line_with_actual_text(stream, textbox, *args, **kwargs):
    """Draw one line of a text box as WeasyPrint does; a line with Khmer in it
    is wrapped in a span whose ActualText is the line's own text."""
    if not KHMER.search(textbox.text):
        return _draw_first_line(stream, textbox, *args, **kwargs)
    actual = pydyf.Dictionary({"ActualText": pydyf.String(textbox.text)})
    stream.begin_marked_content("Span", actual)
    try:
        return _draw_first_line(stream, textbox, *args, **kwargs)
    finally:
        stream.end_marked_content()


# The hook is WeasyPrint's own line-drawing function (HTML and SVG text alike
# look it up by name when they draw a line); WeasyPrint is pinned, and
# tests/test_pdf_khmer.py fails if another version draws lines elsewhere.
weasyprint_text.draw_first_line = _draw_line_with_actual_text


class FontsOnlyFetcher(URLFetcher):
    """Only the shipped font files; everything else is refused."""

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        if parts.scheme != "file":
            raise ValueError(f"Refused to fetch {url!r}: PDFs use shipped files only.")
        path = Path(unquote(parts.path)).resolve()
        if not path.is_relative_to(FONTS_DIR):
            raise ValueError(f"Refused to read {url!r}: outside the shipped fonts.")
        return super().fetch(url, headers)


def render_pdf(template_name: str, context: dict, request=None) -> bytes:
    html = render_to_string(template_name, {**context, "font_css": font_css()}, request=request)
    document = HTML(string=html, base_url=FONTS_DIR.as_uri() + "/", url_fetcher=FontsOnlyFetcher())
    return document.write_pdf()
