// Show every time on the page in the reader's own time zone. Without this script the page
// still reads correctly: it shows Pacific time (as the community announces) and UTC.
//
// Times of things (an RFP submitted, a comment, a claim) read "3 hours ago", or their date once a
// day old. The server writes that text, but visitors' pages are cached for a while, so it is
// written afresh here from the `datetime` attribute: when the page loads, when it comes back
// from the browser's back/forward cache, and each minute. Keep the rule alike to
// relative_time() in rfp_portal/web/filters.py.
(function () {
  "use strict";
  var exact = new Intl.DateTimeFormat(undefined, {
    weekday: "short", year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  // A slot on a Jam's agenda: the Jam's date is beside it, so the day and the clock suffice.
  var clock = new Intl.DateTimeFormat(undefined, {
    weekday: "short", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  var dateOnly = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
  var MINUTE = 60 * 1000, HOUR = 60 * MINUTE, DAY = 24 * HOUR;

  function count(number, unit) { return number + " " + unit + (number === 1 ? "" : "s"); }

  function relative(moment, now) {
    var age = now - moment.getTime(), distance = Math.abs(age), amount;
    if (distance >= DAY) { return dateOnly.format(moment); }
    if (distance < MINUTE) { return "just now"; }
    amount = distance >= HOUR ? count(Math.floor(distance / HOUR), "hour")
                              : count(Math.floor(distance / MINUTE), "minute");
    return age > 0 ? amount + " ago" : "in " + amount;
  }

  function refreshRelative() {
    var times = document.querySelectorAll("time.relative-time[datetime]"), now = Date.now();
    for (var i = 0; i < times.length; i++) {
      var moment = new Date(times[i].getAttribute("datetime"));
      if (isNaN(moment.getTime())) { continue; }
      var text = relative(moment, now);
      if (times[i].textContent !== text) { times[i].textContent = text; }
      times[i].setAttribute("title", exact.format(moment));
    }
  }

  var times = document.querySelectorAll("time.local-time[datetime]:not(.relative-time)");
  for (var i = 0; i < times.length; i++) {
    var element = times[i];
    var moment = new Date(element.getAttribute("datetime"));
    if (isNaN(moment.getTime())) { continue; }
    var original = element.textContent;
    if (element.classList.contains("slot-time")) {
      element.textContent = clock.format(moment);
      element.setAttribute("title", "Announced as " + original);
      continue;
    }
    element.textContent = exact.format(moment);
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
  refreshRelative();
  window.addEventListener("pageshow", function (event) { if (event.persisted) { refreshRelative(); } });
  window.setInterval(refreshRelative, MINUTE);
})();
