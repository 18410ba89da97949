// Patrol check-in: the big button asks the browser for the position (WGS-84), fills
// it in and sends the form. Without this script, or without a position, the
// coordinates can be typed in under the manual position. The texts come from the
// page (data-* attributes on #p-status), in its language.
(function () {
  "use strict";
  var form = document.getElementById("patrol-form");
  if (!form || !("geolocation" in navigator)) return;
  var lon = document.getElementById("p-lon");
  var lat = document.getElementById("p-lat");
  var acc = document.getElementById("p-accuracy");
  var status = document.getElementById("p-status");
  var button = document.getElementById("p-submit");
  var manual = document.getElementById("p-manual");
  var located = false;
  function text(name) { return status.getAttribute("data-" + name) || ""; }
  form.addEventListener("submit", function (ev) {
    if (located || (lon.value.trim() !== "" && lat.value.trim() !== "")) return;
    ev.preventDefault();
    status.textContent = text("busy");
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        lon.value = pos.coords.longitude.toFixed(6);
        lat.value = pos.coords.latitude.toFixed(6);
        acc.value = String(Math.round(pos.coords.accuracy));
        status.textContent = text("done").replace("{}", Math.round(pos.coords.accuracy));
        located = true;
        form.submit();
      },
      function (err) {
        status.textContent = err.code === 1
          ? text("denied")
          : text("unavailable");
        button.disabled = false;
        if (manual) manual.open = true;
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 }
    );
  });
})();
