// zhili report form: a small map with the grid outlines where a tap sets the
// longitude and latitude fields (WGS-84, as the form expects) and the grid the point
// lies in. The form works without this script: the position can be typed, found
// with the "use my position" button, or left out in favour of the address.
(function () {
  "use strict";
  var box = document.getElementById("pick-map");
  var hint = document.getElementById("pick-hint");
  var lon = document.getElementById("f-lon");
  var lat = document.getElementById("f-lat");
  var grid = document.getElementById("f-grid");
  var township = document.getElementById("f-township");
  var status = document.getElementById("pick-status");
  var L = window.L;
  // The texts come from the page (data-* attributes on #pick-status), in its language.
  function text(name) { return (status && status.getAttribute("data-" + name)) || ""; }
  if (!box || !lon || !lat || !L) return;
  box.hidden = false;
  if (hint) hint.hidden = false;

  var map = L.map(box, { attributionControl: false, zoomControl: false, minZoom: 6, maxZoom: 18 });
  L.control.zoom({ zoomInTitle: text("zoom-in"), zoomOutTitle: text("zoom-out") }).addTo(map);
  map.setView([30.04, 121.15], 10);
  box.zhiliMap = map; // for the browser tests
  var features = [];
  var gridLayer = null;
  var marker = null;

  function say(msg) { if (status) status.textContent = msg; }

  // Ray casting over the outer ring: enough to name the grid; the server decides.
  function inside(ring, x, y) {
    var hit = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
    }
    return hit;
  }
  function gridAt(x, y) {
    for (var i = 0; i < features.length; i++) {
      var g = features[i].geometry;
      if (g && g.type === "Polygon" && inside(g.coordinates[0], x, y)) return features[i].properties;
    }
    return null;
  }
  function place(latlng, pan) {
    if (marker) marker.setLatLng(latlng);
    else marker = L.circleMarker(latlng, { radius: 9, color: "#b3261e", weight: 3, fillOpacity: 0.4, interactive: false }).addTo(map);
    if (pan) map.panTo(latlng);
  }

  map.on("click", function (e) {
    var x = Math.round(e.latlng.lng * 1e6) / 1e6;
    var y = Math.round(e.latlng.lat * 1e6) / 1e6;
    lon.value = x.toFixed(6);
    lat.value = y.toFixed(6);
    place(e.latlng, false);
    var g = gridAt(x, y);
    if (g && grid) {
      grid.value = g.code;
      // The grid names its township; a different one chosen before would conflict.
      if (township) township.value = "";
      // The grid's name is data: it stays Chinese, marked so, in an English sentence.
      var parts = text("in-grid").split("{}");
      if (status) {
        status.textContent = parts[0] || "";
        var name = document.createElement("span");
        name.lang = "zh-CN";
        name.textContent = g.name;
        status.appendChild(name);
        status.appendChild(document.createTextNode((parts[1] || "") + g.code + (parts[2] || "")));
      }
    } else {
      say(features.length ? text("no-grid") : text("filled"));
    }
  });

  function fromFields(pan) {
    var x = parseFloat(lon.value), y = parseFloat(lat.value);
    if (isFinite(x) && isFinite(y) && Math.abs(x) <= 180 && Math.abs(y) <= 90) place([y, x], pan);
  }
  lon.addEventListener("change", function () { fromFields(true); });
  lat.addEventListener("change", function () { fromFields(true); });

  fetch("/map/grids.json", { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
    .then(function (fc) {
      features = fc.features.filter(function (f) { return !(f.properties && f.properties.kind === "township"); });
      var towns = fc.features.filter(function (f) { return f.properties && f.properties.kind === "township"; });
      gridLayer = L.geoJSON({ type: "FeatureCollection", features: features }, {
        style: { color: "#5f6f80", weight: 1, fillColor: "#0a4fb3", fillOpacity: 0.04 },
        interactive: false
      }).addTo(map);
      L.geoJSON({ type: "FeatureCollection", features: towns }, {
        style: { color: "#0f3d6e", weight: 2, fill: false },
        interactive: false
      }).addTo(map);
      // Start where the reporter is most likely: their grid, else everything.
      var own = grid && grid.value && features.filter(function (f) { return f.properties.code === grid.value.trim(); })[0];
      var bounds = own ? L.geoJSON(own).getBounds() : gridLayer.getBounds();
      if (bounds.isValid()) map.fitBounds(bounds, { padding: [6, 6], animate: false });
      fromFields(false);
      box.setAttribute("data-ready", "1");
    })
    .catch(function () {
      say(text("failed"));
      box.setAttribute("data-ready", "1");
    });
})();
