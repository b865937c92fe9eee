"""Which font Chromium really drew each Khmer text with, asked through the
DevTools protocol (CSS.getPlatformFontsForNode), not guessed from CSS.

Each run of Khmer letters on the page is first wrapped in a span of its own (a
span changes no style, so the same fonts are picked); the protocol then says
which fonts drew that span's glyphs. A font without Khmer draws a box for each
letter, so any glyph from a font other than the vendored one is a box.
"""

VENDORED_FAMILY = "Noto Sans Khmer"

# Wraps every Khmer run of every text node in <span data-km-probe>; returns how
# many runs it wrapped. Text inside <option>, <script>, <style>, <title> is not
# laid out on the page and is left alone.
WRAP_KHMER_RUNS = """() => {
  const run = /[\\u1780-\\u17ff\\u19e0-\\u19ff]+/g;
  const skip = new Set(["SCRIPT", "STYLE", "TITLE", "OPTION", "TEXTAREA", "NOSCRIPT"]);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) {
    const n = walker.currentNode;
    if (!skip.has(n.parentElement.tagName) && run.test(n.nodeValue)) nodes.push(n);
    run.lastIndex = 0;
  }
  let count = 0;
  for (const n of nodes) {
    const text = n.nodeValue, parts = document.createDocumentFragment();
    let last = 0;
    for (const m of text.matchAll(run)) {
      if (m.index > last) parts.append(text.slice(last, m.index));
      const span = document.createElement("span");
      span.dataset.kmProbe = "";
      span.textContent = m[0];
      parts.append(span);
      last = m.index + m[0].length;
      count++;
    }
    if (last < text.length) parts.append(text.slice(last));
    n.replaceWith(parts);
  }
  return count;
}"""


def khmer_drawn_badly(page, cdp) -> tuple[int, list[dict]]:
    """(Khmer runs drawn, those drawn at least in part by another font)."""
    page.evaluate(WRAP_KHMER_RUNS)
    page.evaluate("document.fonts.ready.then(() => true)")
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    ids = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": "[data-km-probe]"})
    drawn, bad = 0, []
    for node_id in ids["nodeIds"]:
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node_id})["fonts"]
        if not fonts:  # not rendered (a hidden menu, a collapsed panel)
            continue
        drawn += 1
        others = [
            x
            for x in fonts
            if x["glyphCount"] and not (x["familyName"] == VENDORED_FAMILY and x["isCustomFont"])
        ]
        if others:
            text = cdp.send("DOM.getOuterHTML", {"nodeId": node_id})["outerHTML"]
            bad.append({"html": text[:80], "fonts": others})
    return drawn, bad
