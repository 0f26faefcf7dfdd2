// Interactive graph of the attribute page (uPlot). Data comes from
// GET /api/v1/attributes/{id}/series, already reduced on the server to one
// row per pixel column; unknown rows are null and drawn as gaps.
(function () {
  "use strict";
  var panel = document.getElementById("chart-panel");
  if (!panel) return;
  var id = panel.dataset.attr, unit = panel.dataset.unit || "";
  var box = document.getElementById("chart");
  var $ = function (i) { return document.getElementById(i); };
  var presets = { "1h": 3600, "6h": 21600, "1d": 86400, "1w": 604800, "1mon": 2592000, "1y": 31536000 };
  var palette = [
    { line: "#2e7d32", fill: "rgba(143,208,143,0.55)", max: "rgba(27,94,32,0.55)", p95: "#d32f2f" },
    { line: "#1f5fbf", fill: null, max: "rgba(13,60,128,0.5)", p95: "#0d3c80" },
    { line: "#c2185b", fill: null, max: "rgba(136,14,79,0.5)", p95: "#880e4f" },
    { line: "#ef6c00", fill: null, max: "rgba(166,75,0,0.5)", p95: "#a64b00" }
  ];
  // The server picks the first range: a day, or a shorter one that holds
  // all the data of a young archive (it says so under the tools).
  var st = { ds: "", preset: presets[panel.dataset.range] ? panel.dataset.range : "1d", start: null, end: null, style: "steps", showMax: true, showP95: true, live: true, loads: 0, last: null };
  var u = null, seq = 0;
  window.outpostChart = st;

  function si(v) {
    if (v == null || isNaN(v)) return "-";
    if (v === 0) return "0";
    var p = [[1e15, "P"], [1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"], [1, ""], [1e-3, "m"], [1e-6, "µ"], [1e-9, "n"]];
    var a = Math.abs(v);
    for (var i = 0; i < p.length; i++) {
      if (a >= p[i][0] * 0.9995 || i === p.length - 1) return +(v / p[i][0]).toPrecision(3) + (p[i][1] || unit ? " " : "") + p[i][1] + unit;
    }
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function day(d) { return pad(d.getMonth() + 1) + "-" + pad(d.getDate()); }
  function hm(d) { return pad(d.getHours()) + ":" + pad(d.getMinutes()); }
  // 24-hour local time labels; dates where the day changes or the span is long.
  function timeLabels(u, splits) {
    var span = u.scales.x.max - u.scales.x.min;
    return splits.map(function (t) {
      var d = new Date(t * 1000), midnight = d.getHours() === 0 && d.getMinutes() === 0;
      if (span <= 2 * 86400) return midnight ? day(d) : hm(d);
      if (span <= 15 * 86400) return midnight ? day(d) : day(d) + " " + hm(d);
      return d.getFullYear() + "-" + day(d);
    });
  }
  function fullTime(u, t) {
    if (t == null) return "-";
    var d = new Date(t * 1000);
    return d.getFullYear() + "-" + day(d) + " " + hm(d) + ":" + pad(d.getSeconds());
  }
  function range() {
    if (st.start != null) return [st.start, st.end];
    var now = Math.floor(Date.now() / 1000);
    return [now - presets[st.preset], now];
  }
  function toLocalInput(t) {
    var d = new Date(t * 1000);
    d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
    return d.toISOString().slice(0, 16);
  }
  function exportLinks(r) {
    var base = "/api/v1/attributes/" + id + "/";
    var q = "start=" + r[0] + "&end=" + r[1] + (st.ds ? "&ds=" + encodeURIComponent(st.ds) : "");
    $("exp-png").href = base + "graph.png?" + q + "&width=1000&height=320&style=" + st.style;
    $("exp-svg").href = base + "graph.svg?" + q + "&width=1000&height=320&style=" + st.style;
    $("exp-csv").href = base + "export.csv?" + q;
    $("exp-json").href = base + "export.json?" + q;
  }

  function load() {
    var r = range();
    var width = Math.max(200, Math.floor(box.clientWidth - 80));
    var my = ++seq;
    exportLinks(r);
    $("range-start").value = toLocalInput(r[0]);
    $("range-end").value = toLocalInput(r[1]);
    box.setAttribute("aria-busy", "true");
    var dsq = st.ds ? "&ds=" + encodeURIComponent(st.ds) : "";
    var url = "/api/v1/attributes/" + id + "/series?start=" + r[0] + "&end=" + r[1] + "&width=" + width + dsq;
    // The server runs a few graph requests per user at once and answers
    // 429 beyond (another tab, a request still finishing): try again after
    // Retry-After, a few times, unless a newer load has started.
    function get(tries) {
      return fetch(url, { credentials: "same-origin" }).then(function (res) {
        if (res.status === 429 && tries > 0 && my === seq) {
          var wait = Math.min(10, parseInt(res.headers.get("Retry-After"), 10) || 1) * 1000;
          return new Promise(function (ok) { setTimeout(ok, wait); }).then(function () { return get(tries - 1); });
        }
        return res;
      });
    }
    return get(5)
      .then(function (res) {
        if (res.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); }
        if (!res.ok) return res.json().then(function (e) { throw new Error(e.error || res.statusText); });
        return res.json();
      })
      .then(function (d) { if (my === seq) { st.last = d; whenIdle(function () { if (my === seq) draw(d); }); } })
      .catch(function (e) { $("chart-info").textContent = "Could not load the graph: " + e.message; });
  }

  function draw(d) {
    unit = d.unit || "";
    var half = st.style === "lines" ? d.step / 2 : 0;
    var xs = d.x.map(function (x) { return x - half; });
    var paths = st.style === "lines" ? uPlot.paths.linear() : uPlot.paths.stepped({ align: -1 });
    var data = [xs];
    var series = [{ value: fullTime }];
    d.series.forEach(function (s, i) {
      var pal = palette[i % palette.length];
      data.push(s.avg);
      series.push({ label: s.name + " avg", stroke: pal.line, width: 1.5, fill: pal.fill || undefined, paths: paths, value: function (u, v) { return si(v); } });
      if (s.max) {
        data.push(s.max);
        series.push({ label: s.name + " max", stroke: pal.max, width: 1, paths: paths, show: st.showMax, value: function (u, v) { return si(v); } });
      }
      if (s.p95 != null) {
        data.push(xs.map(function () { return s.p95; }));
        series.push({ label: s.name + " 95th", stroke: pal.p95, width: 1, dash: [5, 4], show: st.showP95, points: { show: false }, value: function () { return si(s.p95); } });
      }
    });
    var r = range();
    var opts = {
      width: box.clientWidth, height: 320,
      scales: { x: { time: true, min: r[0], max: r[1] }, y: { range: function (u, lo, hi) { return [Math.min(0, lo), hi > 0 ? hi * 1.05 : 1]; } } },
      axes: [{ grid: { stroke: "#eceff1" }, values: timeLabels, space: 70 },
        { size: 96, grid: { stroke: "#eceff1" }, values: function (u, vals) { return vals.map(si); } }],
      series: series,
      cursor: { drag: { x: true, y: false, setScale: false } },
      legend: { live: true },
      hooks: {
        setSelect: [function (u) {
          if (u.select.width < 5) return;
          var a = Math.floor(u.posToVal(u.select.left, "x")), b = Math.ceil(u.posToVal(u.select.left + u.select.width, "x"));
          u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
          st.start = a; st.end = b; setSeg("ranges", null); load();
        }],
        ready: [function (u) {
          u.over.addEventListener("mousedown", function () { dragging = true; });
          u.over.addEventListener("dblclick", function () { st.start = st.end = null; setSeg("ranges", st.preset); load(); });
        }]
      }
    };
    if (u) u.destroy();
    box.textContent = "";
    u = new uPlot(opts, data, box);
    st.u = u;
    st.loads++;
    box.dataset.style = st.style;
    box.dataset.loads = st.loads;
    box.removeAttribute("aria-busy");
    $("chart-info").textContent = "AVERAGE " + (st.style === "lines" ? "as lines through interval midpoints" : "as steps (each interval's average)") +
      " · " + d.x.length + " rows of " + d.step + " s" + (d.unknown_rows ? " · " + d.unknown_rows + " unknown (gaps)" : "") +
      " · 95th percentile on the " + d.p95_step + " s archive";
  }

  function setSeg(groupId, value) {
    document.querySelectorAll("#" + groupId + " button").forEach(function (b) {
      b.classList.toggle("on", b.dataset.range === value || b.dataset.style === value);
    });
  }

  document.querySelectorAll("#ranges button").forEach(function (b) {
    b.onclick = function () { st.preset = b.dataset.range; st.start = st.end = null; setSeg("ranges", st.preset); load(); };
  });
  document.querySelectorAll("#styles button").forEach(function (b) {
    b.onclick = function () { st.style = b.dataset.style; setSeg("styles", st.style); if (st.last) draw(st.last); };
  });
  $("range-apply").onclick = function () {
    var a = Date.parse($("range-start").value) / 1000, b = Date.parse($("range-end").value) / 1000;
    if (!(b > a)) { $("chart-info").textContent = "The end must be after the start."; return; }
    st.start = Math.floor(a); st.end = Math.ceil(b); setSeg("ranges", null); load();
  };
  function toggle(cb, key, suffix) {
    cb.onchange = function () {
      st[key] = cb.checked;
      if (!u) return;
      u.series.forEach(function (s, i) { if (s.label && s.label.slice(-suffix.length) === suffix) u.setSeries(i, { show: cb.checked }); });
    };
  }
  if ($("ds-select")) $("ds-select").onchange = function () { st.ds = this.value; load(); };
  toggle($("show-max"), "showMax", " max");
  toggle($("show-p95"), "showP95", " 95th");

  // Live tail: the server sends an event when the archive gains a row;
  // a preset (moving) range then reloads.
  // A reload redraws the chart, which would drop a selection the user is
  // dragging: reloads from the live tail or a resize wait until the button
  // is released.
  var es = null, pending = null, dragging = false;
  window.addEventListener("mouseup", function () { dragging = false; }, true);
  function whenIdle(fn) {
    if (!dragging) { fn(); return; }
    setTimeout(function () { whenIdle(fn); }, 50);
  }
  function reloadSoon(ms) {
    clearTimeout(pending);
    pending = setTimeout(function () { if (dragging) { reloadSoon(ms); return; } load(); }, ms);
  }
  function live(on) {
    st.live = on;
    if (es) { es.close(); es = null; }
    if (!on || !window.EventSource) return;
    es = new EventSource("/api/v1/attributes/" + id + "/live");
    es.addEventListener("row", function (ev) {
      st.lastLive = JSON.parse(ev.data);
      if (st.start != null) return;
      reloadSoon(300);
    });
  }
  $("live").onchange = function () { live(this.checked); };
  window.addEventListener("resize", function () { reloadSoon(200); });
  load().then(function () { live(true); });
})();
