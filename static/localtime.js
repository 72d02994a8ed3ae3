// Show every time on the page in the reader's own time zone. Without this script the page
// still reads correctly: it shows Pacific time (as the community announces) and UTC.
(function () {
  "use strict";
  var format = new Intl.DateTimeFormat(undefined, {
    weekday: "short", year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  var times = document.querySelectorAll("time.local-time[datetime]");
  for (var i = 0; i < times.length; i++) {
    var element = times[i];
    var moment = new Date(element.getAttribute("datetime"));
    if (isNaN(moment.getTime())) { continue; }
    var original = element.textContent;
    element.textContent = format.format(moment);
    if (element.hasAttribute("data-announced")) {
      // A Jam: keep the time the community announced beside the reader's own.
      element.setAttribute("title", "Announced as " + original);
      var note = document.createElement("span");
      note.className = "announced-time";
      note.textContent = " (your time; announced as " + original + ")";
      element.parentNode.insertBefore(note, element.nextSibling);
    } else {
      element.setAttribute("title", original);
    }
  }
})();
