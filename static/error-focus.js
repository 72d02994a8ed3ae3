// A form shown again with its errors: move focus to their summary, so a keyboard or screen
// reader user starts from the list of what to fix. Without this script the form's address
// (it ends with the form's #id) still brings the reader back to the form.
(function () {
  "use strict";
  var summary = document.querySelector(".error-summary");
  if (!summary) { return; }
  function focusSummary() {
    var active = document.activeElement;
    // Leave the focus alone once the reader has moved it themselves.
    if (active && active !== document.body && active !== document.documentElement) { return; }
    summary.focus();
  }
  focusSummary();
  // Going to the address's #fragment (the form) clears the focus once the page has loaded:
  // focus the summary again after that.
  window.addEventListener("load", function () {
    window.requestAnimationFrame(function () { window.setTimeout(focusSummary, 0); });
  });
})();
