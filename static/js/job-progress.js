// A job's page (templates/jobs/detail.html): asks the server for the job's state every
// few seconds and updates the bar, the words and the download link, without reloading.
// With data-reload-when-done, the page reloads once the job is done (the reports page).
// The words come translated from the server (jobs/views.py); set as text, never HTML.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || !window.fetch) {
    return;
  }
  var bar = document.getElementById("job-progress");
  var status = document.getElementById("job-status");
  var stage = document.getElementById("job-stage");
  var file = document.getElementById("job-file");
  var every = 2000;

  function show(state) {
    status.textContent = state.status_label;
    stage.textContent = state.stage;
    if (state.percent === null) {
      bar.removeAttribute("value"); // the browser draws a bar that says "working"
      bar.textContent = "";
    } else {
      bar.value = state.percent;
      bar.textContent = state.percent + " %";
    }
    if (state.file_url) {
      file.href = state.file_url;
      file.classList.remove("d-none");
    }
  }

  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(response.status);
        }
        return response.json();
      })
      .then(function (state) {
        show(state);
        if (state.status === "done" && box.dataset.reloadWhenDone === "1") {
          window.location.reload(); // the page shows what the job made (the report's figures)
          return;
        }
        if (!state.finished) {
          window.setTimeout(poll, every);
        }
      })
      .catch(function () {
        // The server is briefly away (a restart): ask again, less often.
        window.setTimeout(poll, every * 3);
      });
  }

  if (box.dataset.finished !== "1") {
    window.setTimeout(poll, every);
  }
})();
