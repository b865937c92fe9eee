// Casework: with an event or a hearing, pre-select the case status its kind suggests
// (casework/services.py STATUS_SUGGESTED_BY_*). "Keep" stays one choice away.
(function () {
  var select = document.querySelector("select[data-status-suggestions]");
  if (!select || !select.form) return;
  var suggestions = JSON.parse(select.getAttribute("data-status-suggestions"));
  var current = select.getAttribute("data-current-status");
  var kind = select.form.querySelector("select[name$='kind']");
  if (!kind) return;
  kind.addEventListener("change", function () {
    var status = suggestions[kind.value];
    select.value = status && status !== current ? status : "";
  });
})();
