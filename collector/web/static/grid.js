// Attribute grid of the host page: pages, sorts and filters on the server
// through GET /api/v1/hosts/{host}/attributes.
(function () {
  "use strict";
  var table = document.getElementById("attr-grid");
  if (!table) return;
  var host = table.dataset.host;
  var tbody = table.querySelector("tbody");
  var st = { page: 1, rows: 25, sort: "key", order: "asc", filter: "", status: "", kind: "", last: 1 };
  var $ = function (id) { return document.getElementById(id); };
  var seq = 0;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }
  var statusNames = { "up": "Up", "alert": "Alert", "down": "Down", "testing": "Testing", "admin-down": "Admin Down", "unknown": "Unknown" };

  function since(iso) {
    if (!iso) return "-";
    var d = new Date(iso);
    return d.toISOString().replace("T", " ").slice(0, 19) + "Z";
  }

  function load() {
    var q = new URLSearchParams({ page: st.page, rows: st.rows, sort: st.sort, order: st.order });
    if (st.filter) q.set("filter", st.filter);
    if (st.status) q.set("status", st.status);
    if (st.kind) q.set("kind", st.kind);
    var my = ++seq;
    table.setAttribute("aria-busy", "true");
    fetch("/api/v1/hosts/" + encodeURIComponent(host) + "/attributes?" + q, { credentials: "same-origin" })
      .then(function (r) { if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); } return r.json(); })
      .then(function (p) { if (my === seq) draw(p); })
      .catch(function (e) { tbody.innerHTML = ""; var tr = el("tr"); tr.appendChild(el("td", { colspan: 8, class: "empty" }, "Could not load: " + e)); tbody.appendChild(tr); });
  }

  function draw(p) {
    st.last = p.last_page;
    st.page = p.page;
    tbody.textContent = "";
    if (!p.items.length) {
      var tr = el("tr"); tr.appendChild(el("td", { colspan: 8, class: "empty" }, "No attributes match.")); tbody.appendChild(tr);
    }
    p.items.forEach(function (a) {
      var tr = el("tr", { "data-key": a.key });
      var td = el("td"); td.appendChild(el("span", { class: "badge st-" + a.status }, statusNames[a.status] || a.status)); tr.appendChild(td);
      td = el("td", { class: "mono" }); td.appendChild(el("a", { href: a.url }, a.key)); tr.appendChild(td);
      tr.appendChild(el("td", {}, a.name));
      tr.appendChild(el("td", {}, a.kind));
      tr.appendChild(el("td", { class: "trunc", title: a.descr }, a.descr));
      tr.appendChild(el("td", { class: "muted" }, a.status_reason));
      tr.appendChild(el("td", { class: "mono" }, since(a.status_since)));
      td = el("td"); if (a.has_archive) td.appendChild(el("a", { href: a.url + "#chart" }, "graph")); tr.appendChild(td);
      tbody.appendChild(tr);
    });
    $("pg-info").textContent = "Page " + p.page + " of " + p.last_page + " · " + p.total_rows + " rows";
    $("pg-first").disabled = $("pg-prev").disabled = p.page <= 1;
    $("pg-next").disabled = $("pg-last").disabled = p.page >= p.last_page;
    table.querySelectorAll("th[data-sort]").forEach(function (th) {
      th.classList.remove("sorted-asc", "sorted-desc");
      if (th.dataset.sort === st.sort) th.classList.add("sorted-" + st.order);
    });
    table.removeAttribute("aria-busy");
    table.dataset.page = p.page;
  }

  table.querySelectorAll("th[data-sort]").forEach(function (th) {
    th.addEventListener("click", function () {
      if (st.sort === th.dataset.sort) st.order = st.order === "asc" ? "desc" : "asc";
      else { st.sort = th.dataset.sort; st.order = "asc"; }
      st.page = 1; load();
    });
  });
  $("pg-first").onclick = function () { st.page = 1; load(); };
  $("pg-prev").onclick = function () { st.page = Math.max(1, st.page - 1); load(); };
  $("pg-next").onclick = function () { st.page = Math.min(st.last, st.page + 1); load(); };
  $("pg-last").onclick = function () { st.page = st.last; load(); };
  $("attr-rows").onchange = function () { st.rows = +this.value; st.page = 1; load(); };
  $("attr-status").onchange = function () { st.status = this.value; st.page = 1; load(); };
  $("attr-kind").onchange = function () { st.kind = this.value; st.page = 1; load(); };
  var timer;
  $("attr-filter").addEventListener("input", function () {
    var v = this.value;
    clearTimeout(timer);
    timer = setTimeout(function () { st.filter = v; st.page = 1; load(); }, 250);
  });
  document.querySelectorAll("[data-filter-status]").forEach(function (a) {
    a.addEventListener("click", function (e) {
      e.preventDefault();
      st.status = a.dataset.filterStatus; $("attr-status").value = st.status; st.page = 1; load();
    });
  });
  load();
})();
