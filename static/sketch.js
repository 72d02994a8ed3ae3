// The sketch workbench: Preview redraws the panel beside the data in place (no reload, the
// form untouched). The server draws it exactly as for the no-script Preview button, which
// re-renders the whole page instead; a throttled preview answers with a message, not an error.
(function () {
  "use strict";
  var button = document.querySelector("button[data-in-place=preview], input[data-in-place=preview]");
  if (!button || !window.fetch || !window.FormData) { return; }
  var form = button.form;

  // The panel stays (it is the live region that announces the change); its inside is new.
  function panel(html) {
    var current = document.getElementById("sketch-preview");
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fresh = holder.querySelector("#sketch-preview");
    if (current && fresh) { current.innerHTML = fresh.innerHTML; }
  }

  function message(text) {
    panel('<div class="workbench-preview" id="sketch-preview" aria-live="polite">' +
      '<h2 class="section-title">Preview</h2><p class="error" role="status"></p></div>');
    document.querySelector("#sketch-preview .error").textContent = text;
  }

  button.addEventListener("click", function (event) {
    event.preventDefault();
    var body = new FormData(form);
    body.append(button.name, button.value || "Preview");
    var address = (button.getAttribute("formaction") || form.action).split("#")[0];
    button.disabled = true;
    var current = document.getElementById("sketch-preview");
    if (current) { current.setAttribute("aria-busy", "true"); }
    fetch(address, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    }).then(function (response) {
      return response.text().then(function (html) {
        if ([200, 422, 429].indexOf(response.status) >= 0 && html.indexOf('id="sketch-preview"') >= 0) {
          panel(html);
        } else {
          message("The preview could not be drawn just now. Nothing you typed is lost: try " +
            "again, or save.");
        }
      });
    }).catch(function () {
      message("The preview could not be drawn (are you offline?). Nothing you typed is lost.");
    }).then(function () {
      button.disabled = false;
    });
  });
})();
