// zhili command centre (/command): the map of grids and open events (Leaflet with
// marker clustering, served by zhili itself), the charts (ECharts), and polling that
// keeps every number current without a reload. The page is whole without this
// script: every number is already in the HTML as a link to its events.
(function () {
  "use strict";
  var POLL_MS = 5000;
  var root = document.getElementById("command");
  var dataEl = document.getElementById("command-data");
  if (!root || !dataEl) return;
  var summary = JSON.parse(dataEl.textContent);
  // The texts this script builds, in the page's language ({} stands for a value);
  // the statuses and the outbox state come in the summary in Chinese, so by code.
  var i18nEl = document.getElementById("command-i18n");
  var T = i18nEl ? JSON.parse(i18nEl.textContent) : {};
  function tr(key) {
    var t = T[key] === undefined ? "{}" : String(T[key]);
    var args = Array.prototype.slice.call(arguments, 1);
    return t.replace(/\{\}/g, function () { return args.length ? String(args.shift()) : ""; });
  }
  function statusLabel(st) { return (T.status && T.status[st.code]) || st.label; }
  // Names, titles and texts from the data stay as entered, marked Chinese.
  function zh(text, cls) {
    var e = node("span", { lang: "zh-CN" }, text);
    if (cls) e.className = cls;
    return e;
  }
  var wall = root.classList.contains("wall");
  var live = document.getElementById("cmd-live");

  function node(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function link(href, text, cls) {
    var a = node("a", { href: href }, text);
    if (cls) a.className = cls;
    return a;
  }
  function fill(list, items, make) {
    if (!list) return;
    list.replaceChildren.apply(list, items.map(make));
  }
  function chinaTime(iso) {
    var d = new Date(iso);
    var c = new Date(d.getTime() + 8 * 3600 * 1000);
    var p = function (n) { return (n < 10 ? "0" : "") + n; };
    return c.getUTCFullYear() + "-" + p(c.getUTCMonth() + 1) + "-" + p(c.getUTCDate()) + " " +
      p(c.getUTCHours()) + ":" + p(c.getUTCMinutes());
  }

  // ---------------------------------------------------------------- numbers
  function renderNumbers(s) {
    s.tiles.forEach(function (t) {
      var a = root.querySelector('.cmd-tile[data-key="' + t.key + '"]');
      if (!a) return;
      var v = a.querySelector(".cmd-tile-value");
      if (v.textContent !== String(t.value)) {
        v.textContent = String(t.value);
        a.classList.remove("changed");
        void a.offsetWidth;
        a.classList.add("changed");
      }
      a.setAttribute("href", t.href);
      if (t.key === "overdue") {
        var total = document.getElementById("cmd-overdue-total");
        if (total) total.textContent = tr("overdue_total", t.value);
      }
    });
    var tbody = document.querySelector("#cmd-townships tbody");
    fill(tbody, s.townships, function (t) {
      var row = node("tr");
      row.appendChild(node("th", { scope: "row", lang: "zh-CN" }, t.name));
      var open = node("td");
      open.appendChild(link(t.open_href, t.open));
      var late = node("td");
      if (t.overdue > 0) late.appendChild(link(t.overdue_href, t.overdue, "cmd-late"));
      else late.textContent = "0";
      row.appendChild(open);
      row.appendChild(late);
      return row;
    });
    fill(document.getElementById("cmd-trend"), s.trend, function (d) {
      var li = node("li");
      li.appendChild(link(d.href, tr("day", d.date.slice(5), d.count)));
      return li;
    });
    function named(c) {
      var li = node("li");
      var a = link(c.href);
      a.appendChild(zh(c.name));
      a.appendChild(document.createTextNode(tr("sep") + c.count));
      li.appendChild(a);
      return li;
    }
    fill(document.getElementById("cmd-categories"), s.categories, named);
    fill(document.getElementById("cmd-overdue"), s.overdue, function (o) {
      var li = node("li");
      li.appendChild(link(o.href, o.number));
      li.appendChild(document.createTextNode(" "));
      li.appendChild(zh(o.township + (o.category ? " · " + o.category : "")));
      li.appendChild(node("br"));
      li.appendChild(zh(o.excerpt, "muted"));
      return li;
    });
    fill(document.getElementById("cmd-focus"), s.focus, named);
    if (s.recurring) {
      var rt = document.getElementById("cmd-recurring-total");
      if (rt) rt.textContent = tr("recurring_total", s.recurring.open);
      fill(document.getElementById("cmd-recurring"), s.recurring.alerts, function (a) {
        var li = node("li");
        var l = link(a.href);
        l.appendChild(zh(a.title));
        l.appendChild(document.createTextNode(tr("sep") + tr("alert_events", a.events)));
        li.appendChild(l);
        return li;
      });
    }
    var ch = document.getElementById("cmd-channels");
    if (ch && s.channels) {
      var c = s.channels;
      var dds = ch.querySelectorAll("dd");
      if (dds.length === 3) {
        var state = node("span", { "class": "cmd-state cmd-state-" + c.state }, (T.state && T.state[c.state]) || c.state_label);
        dds[0].replaceChildren(state, document.createTextNode(tr("comma")),
          link(c.pending_href, tr("outbox_pending", c.outbox.pending)),
          document.createTextNode(tr("comma")),
          link(c.failing_href, tr("outbox_failing", c.outbox.failing)),
          document.createTextNode(c.outbox.last_error ? tr("last_error", c.outbox.last_error) : ""));
        dds[1].replaceChildren(link(c.exchange_110.transferred_href, tr("count", c.exchange_110.transferred)));
        dds[2].replaceChildren(link(c.exchange_110.received_today_href, tr("count", c.exchange_110.received_today)));
      }
    }
    var up = document.getElementById("cmd-updated");
    if (up) up.textContent = chinaTime(s.at);
  }

  // ---------------------------------------------------------------- charts
  var charts = [];
  function chart(id) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) return null;
    var c = window.echarts.init(el, wall ? "dark" : null, { renderer: "canvas" });
    charts.push(c);
    return c;
  }
  var trendChart = chart("cmd-trend-chart");
  var categoryChart = chart("cmd-category-chart");
  var text = wall ? "#e8eef5" : "#1b1f24";
  function go(list) {
    return function (p) { var d = list()[p.dataIndex]; if (d) window.location.href = d.href; };
  }
  if (trendChart) trendChart.on("click", go(function () { return summary.trend; }));
  if (categoryChart) categoryChart.on("click", go(function () { return summary.categories.slice(0, 10); }));
  // The tooltips are HTML: the category names (data) go in marked, and escaped.
  function esc(v) {
    return String(v).replace(/[&<>"']/g, function (ch) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[ch];
    });
  }
  function tip(nameIsData) {
    return function (ps) {
      var p = Array.isArray(ps) ? ps[0] : ps;
      if (!p) return "";
      var name = nameIsData ? '<span lang="zh-CN">' + esc(p.name) + "</span>" : esc(p.name);
      return name + "<br>" + p.marker + esc(p.seriesName) + " <b>" + esc(p.value) + "</b>";
    };
  }
  function renderCharts(s) {
    var base = { animation: false, backgroundColor: "transparent", textStyle: { color: text, fontSize: wall ? 16 : 12 } };
    if (trendChart) {
      trendChart.setOption(Object.assign({}, base, {
        tooltip: { trigger: "axis", formatter: tip(false) },
        grid: { left: 40, right: 12, top: 16, bottom: 28 },
        xAxis: { type: "category", data: s.trend.map(function (d) { return d.date.slice(5); }) },
        yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", name: tr("reported"), data: s.trend.map(function (d) { return d.count; }), itemStyle: { color: "#0a4fb3" } }]
      }));
    }
    if (categoryChart) {
      var top = s.categories.slice(0, 10);
      categoryChart.setOption(Object.assign({}, base, {
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: tip(true) },
        grid: { left: 110, right: 24, top: 8, bottom: 24 },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", inverse: true, data: top.map(function (c) { return c.name; }) },
        series: [{ type: "bar", name: tr("reported"), data: top.map(function (c) { return c.count; }), itemStyle: { color: "#1e7b34" } }]
      }));
    }
  }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });

  // ---------------------------------------------------------------- map
  var map = null;
  var gridLayer = null;
  var markers = null;
  var byId = new Map();
  var colourBy = "open";
  var countEl = document.getElementById("cmd-marker-count");
  var OPEN_STEPS = [[0, "#f4f6f8", "0"], [1, "#d6e6fa", "1–2"], [3, "#9cc3f0", "3–5"], [6, "#4f8fd8", "6–10"], [11, "#1c5aa6", tr("open_11")]];
  var LATE_STEPS = [[0, "#f4f6f8", tr("late_none")], [0.0001, "#fde0c5", tr("late_25")], [0.25, "#f7a76c", "25%–50%"], [0.5, "#e0603a", "50%–75%"], [0.75, "#a8231b", tr("late_75")]];
  var loads = new Map();

  function loadsFrom(s) {
    loads = new Map();
    s.grids.forEach(function (g) { loads.set(g.id, g); });
  }
  function step(steps, v) {
    var c = steps[0];
    steps.forEach(function (st) { if (v >= st[0]) c = st; });
    return c[1];
  }
  function gridStyle(feature) {
    var l = loads.get(feature.properties.id);
    var open = l ? l.open : 0;
    var share = l && l.open ? l.overdue / l.open : 0;
    return {
      color: wall ? "#5d7590" : "#8795a3",
      weight: 1,
      fillOpacity: 0.65,
      fillColor: colourBy === "open" ? step(OPEN_STEPS, open) : step(LATE_STEPS, share)
    };
  }
  function renderLegend() {
    var el = document.getElementById("cmd-legend");
    if (!el) return;
    var steps = colourBy === "open" ? OPEN_STEPS : LATE_STEPS;
    el.replaceChildren.apply(el, [node("span", {}, colourBy === "open" ? tr("legend_open") : tr("legend_late"))].concat(
      steps.map(function (st) {
        var s = node("span");
        var i = node("i");
        i.style.background = st[1];
        s.appendChild(i);
        s.appendChild(document.createTextNode(st[2]));
        return s;
      })));
  }
  function gridPopup(layer) {
    var p = layer.feature.properties;
    var l = loads.get(p.id) || { open: 0, overdue: 0, open_href: "/events?grid=" + encodeURIComponent(p.code), overdue_href: "/events?overdue=1&grid=" + encodeURIComponent(p.code) };
    var div = node("div", { "class": "cmd-popup" });
    var title = node("p");
    title.appendChild(zh(p.name));
    title.appendChild(document.createTextNode(tr("code", p.code)));
    div.appendChild(title);
    // "open {}, overdue {}": the numbers are links.
    var a = node("p");
    var open = tr("grid_open", "\u0000").split("\u0000");
    var late = tr("grid_late", "\u0000").split("\u0000");
    a.appendChild(document.createTextNode(open[0]));
    a.appendChild(link(l.open_href, l.open));
    a.appendChild(document.createTextNode((open[1] || "") + late[0]));
    a.appendChild(link(l.overdue_href, l.overdue));
    a.appendChild(document.createTextNode(late[1] || ""));
    div.appendChild(a);
    return div;
  }
  function markerPopup(ev) {
    var div = node("div", { "class": "cmd-popup" });
    var h = node("p");
    h.appendChild(link("/events/" + ev.id, ev.number));
    h.appendChild(document.createTextNode(" " + statusLabel(ev.status) + (ev.overdue ? tr("overdue") : "")));
    div.appendChild(h);
    div.appendChild(node("p", { lang: "zh-CN" }, ev.township + (ev.category ? " · " + ev.category : "")));
    div.appendChild(node("p", { "class": "muted", lang: "zh-CN" }, ev.excerpt));
    return div;
  }
  function pin(ev) {
    var cls = "cmd-pin" + (ev.overdue ? " cmd-pin-overdue" : ev.status.code === "reported" ? " cmd-pin-reported" : "");
    return window.L.divIcon({ className: "", html: '<span class="' + cls + '"></span>', iconSize: [18, 18], iconAnchor: [9, 9] });
  }
  function upsert(ev) {
    var m = byId.get(ev.id);
    if (!ev.open) {
      if (m) { markers.removeLayer(m); byId.delete(ev.id); }
      return;
    }
    if (m) {
      m.setLatLng([ev.lat, ev.lon]);
      m.setIcon(pin(ev));
      m.setPopupContent(markerPopup(ev));
      return;
    }
    m = window.L.marker([ev.lat, ev.lon], { icon: pin(ev), title: ev.number + " " + statusLabel(ev.status), alt: ev.number });
    m.bindPopup(function () { return markerPopup(ev); });
    m.zhiliId = ev.id;
    byId.set(ev.id, m);
    markers.addLayer(m);
  }
  function showCount() {
    if (!countEl) return;
    countEl.textContent = String(byId.size);
    countEl.setAttribute("data-count", String(byId.size));
  }

  var cursor = null;
  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    });
  }
  function loadEvents() {
    var url = "/command/events.json" + (cursor ? "?since=" + encodeURIComponent(cursor) : "");
    return getJson(url).then(function (r) {
      if (markers) r.events.forEach(upsert);
      cursor = r.cursor;
      showCount();
    });
  }

  function initMap() {
    var L = window.L;
    if (!L || !document.getElementById("cmd-map")) return Promise.resolve();
    map = L.map("cmd-map", { attributionControl: false, zoomControl: false, minZoom: 6, maxZoom: 18 });
    // For the browser tests (and the curious at the console): the map itself.
    document.getElementById("cmd-map").zhiliMap = map;
    L.control.zoom({ zoomInTitle: tr("zoom_in"), zoomOutTitle: tr("zoom_out") }).addTo(map);
    var tiles = root.getAttribute("data-tile-url");
    if (tiles) L.tileLayer(tiles, { maxZoom: 18 }).addTo(map);
    map.setView([30.04, 121.15], 10);
    markers = L.markerClusterGroup({ showCoverageOnHover: false, chunkedLoading: true, maxClusterRadius: 50 });
    loadsFrom(summary);
    renderLegend();
    return getJson("/map/grids.json").then(function (fc) {
      var grids = fc.features.filter(function (f) { return !(f.properties && f.properties.kind === "township"); });
      var towns = fc.features.filter(function (f) { return f.properties && f.properties.kind === "township"; });
      gridLayer = L.geoJSON({ type: "FeatureCollection", features: grids }, { style: gridStyle });
      gridLayer.bindPopup(gridPopup);
      gridLayer.addTo(map);
      var townLayer = L.geoJSON({ type: "FeatureCollection", features: towns }, {
        style: { color: wall ? "#c9d6e3" : "#0f3d6e", weight: 2.5, fill: false },
        interactive: false
      }).addTo(map);
      // A township room sees its own township; the city sees every grid.
      var own = summary.township_code && towns.filter(function (f) { return f.properties.code === summary.township_code; })[0];
      var bounds = own ? L.geoJSON(own).getBounds() : gridLayer.getBounds();
      if (bounds.isValid()) map.fitBounds(bounds, { padding: [8, 8], animate: false });
      void townLayer;
      map.addLayer(markers);
    }).then(loadEvents);
  }

  function setLive(msg) { if (live && live.textContent !== msg) live.textContent = msg; }

  function poll() {
    Promise.all([getJson("/command/summary.json"), markers ? loadEvents() : Promise.resolve()])
      .then(function (r) {
        summary = r[0];
        renderNumbers(summary);
        renderCharts(summary);
        loadsFrom(summary);
        if (gridLayer) gridLayer.setStyle(gridStyle);
        setLive(tr("live_ok"));
        root.setAttribute("data-polls", String(Number(root.getAttribute("data-polls") || "0") + 1));
      })
      .catch(function () { setLive(tr("live_retry")); })
      .then(function () { window.setTimeout(poll, POLL_MS); });
  }

  document.querySelectorAll('input[name="cmd-colour"]').forEach(function (r) {
    r.addEventListener("change", function () {
      if (!r.checked) return;
      colourBy = r.value;
      renderLegend();
      if (gridLayer) gridLayer.setStyle(gridStyle);
    });
  });

  renderCharts(summary);
  initMap()
    .catch(function (e) {
      if (window.console) window.console.error("command map:", e);
      setLive(tr("live_map_failed"));
    })
    .then(function () {
      root.setAttribute("data-ready", "1");
      window.setTimeout(poll, POLL_MS);
    });
})();
