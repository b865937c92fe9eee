"""PDFs from HTML templates with WeasyPrint, using the fonts shipped in reports/fonts/.

Noto Sans Khmer (with Noto Sans for Latin text) is shipped with the app, so
Khmer names are shaped the same on any server, whatever fonts it has. The
renderer may read those font files and nothing else: no network, no other
file, whatever a record contains.
"""

import logging
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.template.loader import render_to_string

# WeasyPrint reports every rendering step at INFO; keep its warnings only.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

from weasyprint import HTML  # noqa: E402  (after quietening its logger)
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
    rules.append('.km { font-family: "Casework Khmer", "Casework Sans", sans-serif; }')
    return "\n".join(rules)


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
