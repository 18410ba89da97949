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
        if (total) total.textContent = "共 " + t.value + " 件";
      }
    });
    var tbody = document.querySelector("#cmd-townships tbody");
    fill(tbody, s.townships, function (t) {
      var tr = node("tr");
      tr.appendChild(node("th", { scope: "row" }, t.name));
      var open = node("td");
      open.appendChild(link(t.open_href, t.open));
      var late = node("td");
      if (t.overdue > 0) late.appendChild(link(t.overdue_href, t.overdue, "cmd-late"));
      else late.textContent = "0";
      tr.appendChild(open);
      tr.appendChild(late);
      return tr;
    });
    fill(document.getElementById("cmd-trend"), s.trend, function (d) {
      var li = node("li");
      li.appendChild(link(d.href, d.date.slice(5) + "：" + d.count));
      return li;
    });
    fill(document.getElementById("cmd-categories"), s.categories, function (c) {
      var li = node("li");
      li.appendChild(link(c.href, c.name + "：" + c.count));
      return li;
    });
    fill(document.getElementById("cmd-overdue"), s.overdue, function (o) {
      var li = node("li");
      li.appendChild(link(o.href, o.number));
      li.appendChild(document.createTextNode(" " + o.township + (o.category ? " · " + o.category : "")));
      li.appendChild(node("br"));
      li.appendChild(node("span", { "class": "muted" }, o.excerpt));
      return li;
    });
    fill(document.getElementById("cmd-focus"), s.focus, function (c) {
      var li = node("li");
      li.appendChild(link(c.href, c.name + "：" + c.count));
      return li;
    });
    if (s.recurring) {
      var rt = document.getElementById("cmd-recurring-total");
      if (rt) rt.textContent = "待研判 " + s.recurring.open + " 条";
      fill(document.getElementById("cmd-recurring"), s.recurring.alerts, function (a) {
        var li = node("li");
        li.appendChild(link(a.href, a.title + "：" + a.events + " 起"));
        return li;
      });
    }
    var ch = document.getElementById("cmd-channels");
    if (ch && s.channels) {
      var c = s.channels;
      var dds = ch.querySelectorAll("dd");
      if (dds.length === 3) {
        var state = node("span", { "class": "cmd-state cmd-state-" + c.state }, c.state_label);
        dds[0].replaceChildren(state, document.createTextNode(
          "，待发送 " + c.outbox.pending + " 条，其中失败重试 " + c.outbox.failing + " 条" +
          (c.outbox.last_error ? "；最近错误：" + c.outbox.last_error : "")));
        dds[1].replaceChildren(link(c.exchange_110.transferred_href, c.exchange_110.transferred + " 件"));
        dds[2].replaceChildren(link(c.exchange_110.received_today_href, c.exchange_110.received_today + " 件"));
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
  function renderCharts(s) {
    var base = { animation: false, backgroundColor: "transparent", textStyle: { color: text, fontSize: wall ? 16 : 12 } };
    if (trendChart) {
      trendChart.setOption(Object.assign({}, base, {
        tooltip: { trigger: "axis" },
        grid: { left: 40, right: 12, top: 16, bottom: 28 },
        xAxis: { type: "category", data: s.trend.map(function (d) { return d.date.slice(5); }) },
        yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", name: "上报", data: s.trend.map(function (d) { return d.count; }), itemStyle: { color: "#0a4fb3" } }]
      }));
    }
    if (categoryChart) {
      var top = s.categories.slice(0, 10);
      categoryChart.setOption(Object.assign({}, base, {
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        grid: { left: 110, right: 24, top: 8, bottom: 24 },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", inverse: true, data: top.map(function (c) { return c.name; }) },
        series: [{ type: "bar", name: "上报", data: top.map(function (c) { return c.count; }), itemStyle: { color: "#1e7b34" } }]
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
  var OPEN_STEPS = [[0, "#f4f6f8", "0"], [1, "#d6e6fa", "1–2"], [3, "#9cc3f0", "3–5"], [6, "#4f8fd8", "6–10"], [11, "#1c5aa6", "11 以上"]];
  var LATE_STEPS = [[0, "#f4f6f8", "无超期"], [0.0001, "#fde0c5", "25% 以下"], [0.25, "#f7a76c", "25%–50%"], [0.5, "#e0603a", "50%–75%"], [0.75, "#a8231b", "75% 以上"]];
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
    el.replaceChildren.apply(el, [node("span", {}, colourBy === "open" ? "在办事件数：" : "超期占比：")].concat(
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
    div.appendChild(node("p", {}, p.name + "（" + p.code + "）"));
    var a = node("p", {}, "在办 ");
    a.appendChild(link(l.open_href, l.open));
    a.appendChild(document.createTextNode("，超期 "));
    a.appendChild(link(l.overdue_href, l.overdue));
    div.appendChild(a);
    return div;
  }
  function markerPopup(ev) {
    var div = node("div", { "class": "cmd-popup" });
    var h = node("p");
    h.appendChild(link("/events/" + ev.id, ev.number));
    h.appendChild(document.createTextNode(" " + ev.status.label + (ev.overdue ? " · 超期" : "")));
    div.appendChild(h);
    div.appendChild(node("p", {}, ev.township + (ev.category ? " · " + ev.category : "")));
    div.appendChild(node("p", { "class": "muted" }, ev.excerpt));
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
    m = window.L.marker([ev.lat, ev.lon], { icon: pin(ev), title: ev.number + " " + ev.status.label, alt: ev.number });
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
    L.control.zoom({ zoomInTitle: "放大", zoomOutTitle: "缩小" }).addTo(map);
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
        setLive("，每 5 秒自动更新");
        root.setAttribute("data-polls", String(Number(root.getAttribute("data-polls") || "0") + 1));
      })
      .catch(function () { setLive("，连接中断，正在重试…"); })
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
      setLive("，地图数据加载失败，正在重试…");
    })
    .then(function () {
      root.setAttribute("data-ready", "1");
      window.setTimeout(poll, POLL_MS);
    });
})();
