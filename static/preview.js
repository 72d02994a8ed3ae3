// Write / Preview for every Markdown box (templates/_form.html, markdown_field). The server
// renders the preview with the renderer, bounds and sanitiser a reader's page uses; this script
// only asks for it (POST /preview) and swaps it in place. Without the script, the form's
// Preview button re-renders the page with the same preview and every field kept.
(function () {
  "use strict";
  var boxes = document.querySelectorAll(".md-field[data-preview-url]");
  if (!window.fetch) { return; }
  // Each box previews in place: the form's own Preview button is for pages without script.
  Array.prototype.forEach.call(document.querySelectorAll(".md-preview-submit"), function (button) {
    button.hidden = true;
  });
  Array.prototype.forEach.call(boxes, function (box, index) {
    var area = box.querySelector("textarea");
    var preview = box.querySelector(".md-preview");
    var form = box.closest("form");
    if (!area || !preview || !form || !window.fetch) { return; }
    var token = form.querySelector("input[name=csrf_token]");

    var bar = document.createElement("div");
    bar.className = "md-tabs";
    bar.setAttribute("role", "group");
    bar.setAttribute("aria-label", "Write or preview");
    var write = document.createElement("button");
    var show = document.createElement("button");
    write.type = show.type = "button";
    write.className = show.className = "md-tab";
    write.textContent = "Write";
    show.textContent = "Preview";
    write.setAttribute("aria-controls", area.id);
    show.setAttribute("aria-controls", preview.id);
    bar.appendChild(write);
    bar.appendChild(show);
    area.parentNode.insertBefore(bar, area);

    function writing() {
      area.hidden = false;
      preview.hidden = true;
      write.setAttribute("aria-pressed", "true");
      show.setAttribute("aria-pressed", "false");
    }
    function previewing(html) {
      preview.innerHTML = '<p class="md-preview-label">Preview: how readers will see it</p>' + html;
      preview.hidden = false;
      area.hidden = true;
      write.setAttribute("aria-pressed", "false");
      show.setAttribute("aria-pressed", "true");
    }
    // A preview the server drew for a no-script submit stays until the person writes again.
    if (preview.hidden) { writing(); } else {
      write.setAttribute("aria-pressed", "false");
      show.setAttribute("aria-pressed", "true");
      area.hidden = true;
    }
    write.addEventListener("click", function () { writing(); area.focus(); });
    show.addEventListener("click", function () {
      var body = new FormData();
      body.append("csrf_token", token ? token.value : "");
      body.append("field", box.getAttribute("data-preview-field"));
      body.append("text", area.value);
      show.disabled = true;
      preview.setAttribute("aria-busy", "true");
      fetch(box.getAttribute("data-preview-url"), {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" }
      }).then(function (response) {
        return response.text().then(function (text) {
          // Errors come back as a short message fit to show; anything else as the preview.
          var ok = response.ok || /^<p class="error">/.test(text);
          previewing(ok ? text : '<p class="error">The preview could not be made just now. ' +
            'Your text is safe: try again, or save.</p>');
        });
      }).catch(function () {
        previewing('<p class="error">The preview could not be made just now (are you offline?). ' +
          "Your text is safe: try again, or save.</p>");
      }).then(function () {
        show.disabled = false;
        preview.removeAttribute("aria-busy");
        // Where the preview now is, for keyboard and screen-reader users alike.
        preview.setAttribute("tabindex", "-1");
        preview.focus();
      });
    });
  });
})();
