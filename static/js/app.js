// Casework: small progressive enhancements. No inline scripts (CSP).
(function () {
  "use strict";

  // A refused form opens on its error summary: keyboard and screen-reader users
  // start there, and each of its links takes them to the field (WCAG 3.3.1).
  function focusErrorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
    }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-error-summary] a[href^='#']");
    if (!link) {
      return;
    }
    var field = document.getElementById(link.getAttribute("href").slice(1));
    if (!field) {
      return;
    }
    event.preventDefault();
    // A field inside a collapsed panel (the filters on a phone) is shown first.
    var panel = field.closest(".collapse:not(.show)");
    if (panel && window.bootstrap) {
      window.bootstrap.Collapse.getOrCreateInstance(panel, { toggle: false }).show();
    }
    var label = document.querySelector("label[for='" + field.id + "']");
    (label || field).scrollIntoView({ block: "center" });
    field.focus({ preventScroll: true });
  });

  // Wide tables scroll sideways in their region; a region that overflows can
  // take focus so the arrow keys scroll it (WCAG 2.1.1), and is named for
  // screen readers after the heading above it.
  function labelScrollRegions() {
    document.querySelectorAll(".table-responsive").forEach(function (region) {
      var overflows = region.scrollWidth > region.clientWidth + 1;
      if (!overflows) {
        region.removeAttribute("tabindex");
        region.removeAttribute("role");
        return;
      }
      region.setAttribute("tabindex", "0");
      region.setAttribute("role", "region");
      if (!region.hasAttribute("aria-label") && !region.hasAttribute("aria-labelledby")) {
        var box = region.closest("section, .card, main");
        var heading = box && box.querySelector("h1, h2, h3, h4, caption");
        var table = region.querySelector("table");
        var name = (table && table.getAttribute("aria-label")) || (heading && heading.textContent);
        region.setAttribute("aria-label", (name || document.title).trim());
      }
    });
  }

  function ready() {
    focusErrorSummary();
    labelScrollRegions();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
  window.addEventListener("resize", labelScrollRegions);
  if (document.fonts) {
    document.fonts.ready.then(labelScrollRegions);
  }
})();
