// Casework: small progressive enhancements. No inline scripts (CSP).
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el.matches("select[data-autosubmit]")) {
    el.form.submit();
  }
});
