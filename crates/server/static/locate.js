// zhili report form: fills longitude/latitude from the device (browsers give WGS-84)
// and warns about a photo over the size limit before it is sent. The form works
// without this script: the position can be typed or left empty.
(function () {
  "use strict";
  var button = document.getElementById("locate");
  var lon = document.getElementById("f-lon");
  var lat = document.getElementById("f-lat");
  var status = document.getElementById("locate-status");
  // The texts come from the page (data-* attributes), in the page's language.
  function text(el, name) { return (el && el.getAttribute("data-" + name)) || ""; }
  if (button && lon && lat && status && "geolocation" in navigator) {
    button.hidden = false;
    button.addEventListener("click", function () {
      if (!window.isSecureContext) {
        status.textContent = text(status, "https");
        return;
      }
      status.textContent = text(status, "busy");
      button.disabled = true;
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          lon.value = pos.coords.longitude.toFixed(6);
          lat.value = pos.coords.latitude.toFixed(6);
          // The map pick (map-pick.js) moves its marker to the new position.
          lat.dispatchEvent(new Event("change"));
          status.textContent = text(status, "done").replace("{}", Math.round(pos.coords.accuracy));
          button.disabled = false;
        },
        function (err) {
          status.textContent = err.code === 1
            ? text(status, "denied")
            : text(status, "unavailable");
          button.disabled = false;
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
    });
  }
  var photo = document.getElementById("f-photo");
  var sizeNote = document.getElementById("photo-size");
  if (photo && sizeNote) {
    var max = Number(photo.getAttribute("data-max-bytes")) || 0;
    photo.addEventListener("change", function () {
      var f = photo.files && photo.files[0];
      sizeNote.textContent = f && max && f.size > max
        ? text(sizeNote, "too-large")
        : "";
    });
  }
})();
