// Patrol check-in: the big button asks the browser for the position (WGS-84), fills
// it in and sends the form. Without this script, or without a position, the
// coordinates can be typed under 手动填写位置.
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
  form.addEventListener("submit", function (ev) {
    if (located || (lon.value.trim() !== "" && lat.value.trim() !== "")) return;
    ev.preventDefault();
    status.textContent = "正在获取位置…";
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        lon.value = pos.coords.longitude.toFixed(6);
        lat.value = pos.coords.latitude.toFixed(6);
        acc.value = String(Math.round(pos.coords.accuracy));
        status.textContent = "已获取位置（精度约 " + Math.round(pos.coords.accuracy) + " 米），正在打卡…";
        located = true;
        form.submit();
      },
      function (err) {
        status.textContent = err.code === 1
          ? "未获得定位权限：请在浏览器中允许定位，或手动填写位置"
          : "暂时无法获取位置：请稍后重试，或手动填写位置";
        button.disabled = false;
        if (manual) manual.open = true;
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 }
    );
  });
})();
