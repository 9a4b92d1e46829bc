// Progressive enhancement only: every page works without this file.
// 1. The browser's time zone goes into an empty time-zone field of the sign-in form.
// 2. The schedule picker shows only the fields its choice needs, and its preview follows the form as it changes;
//    a date typed in words ("fri") is then shown as it was read ("Fri 11 Dec 2026"), as the form does after Preview.
// 3. A Copy button beside a read-only link (without it, the link is selected and copied by hand).
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function fillTimezone() {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    document.querySelectorAll(".js-timezone select").forEach(function (select) {
      var known = Array.prototype.some.call(select.options, function (option) { return option.value === zone; });
      if (known && !select.value) { select.value = zone; }
    });
  }

  function picker(form) {
    var set = form.querySelector(".picker");
    if (!set) { return; }
    var preview = document.getElementById("schedule-preview");
    var url = set.getAttribute("data-preview-url");
    var timer = null;
    var asked = 0;

    function repeatValue() {
      var checked = form.querySelector("input[name=repeat]:checked");
      return checked ? checked.value : "";
    }
    function showWhen() {
      var repeat = repeatValue();
      form.querySelectorAll(".js-when").forEach(function (part) {
        part.hidden = part.getAttribute("data-when") !== repeat;
      });
    }
    function showRead() {
      preview.querySelectorAll(".js-read").forEach(function (read) {
        var input = form.querySelector("input[name=" + read.getAttribute("data-name") + "]");
        if (input && document.activeElement !== input) { input.value = read.value; }
      });
    }
    function refresh() {
      var params = new URLSearchParams();
      new FormData(form).forEach(function (value, name) {
        if (name !== "csrf_token" && typeof value === "string") { params.append(name, value); }
      });
      params.set("timezone", set.getAttribute("data-timezone"));
      var mine = ++asked;
      fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + params.toString(), { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (answer) { return answer.ok ? answer.text() : null; })
        .then(function (html) {
          if (html !== null && mine === asked) {
            var parsed = new DOMParser().parseFromString(html, "text/html");
            preview.replaceChildren.apply(preview, Array.prototype.slice.call(parsed.body.childNodes));
            showRead();
          }
        })
        .catch(function () { /* the Preview button still works */ });
    }
    form.addEventListener("change", function () {
      showWhen();
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    });
    showWhen();
  }

  function copyButtons() {
    document.querySelectorAll("button.js-copy").forEach(function (button) {
      var source = document.getElementById(button.getAttribute("data-copy"));
      var said = button.parentNode.querySelector(".js-copied");
      if (!source || !navigator.clipboard) { return; }  // the field stays selectable by hand
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(source.value).then(
          function () { if (said) { said.textContent = "Copied."; } },
          function () { source.select(); if (said) { said.textContent = "Selected: copy it from the menu."; } }
        );
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    fillTimezone();
    copyButtons();
    document.querySelectorAll(".js-picker-form").forEach(picker);
  });
})();
