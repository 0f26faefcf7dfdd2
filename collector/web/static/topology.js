// Pan and zoom of the topology map (/topology). The layout is drawn by the
// server as SVG; this only changes the SVG's viewBox.
(function () {
  "use strict";
  const svg = document.getElementById("topo-svg");
  if (!svg) return;
  const base = svg.viewBox.baseVal;
  const home = { x: base.x, y: base.y, w: base.width, h: base.height };
  let view = Object.assign({}, home);
  const apply = () => {
    svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`);
    svg.dataset.zoom = (home.w / view.w).toFixed(3);
  };
  const zoom = (factor, cx, cy) => {
    const w = Math.min(home.w * 8, Math.max(home.w / 16, view.w / factor));
    const h = w * home.h / home.w;
    if (cx === undefined) { cx = view.x + view.w / 2; cy = view.y + view.h / 2; }
    view.x = cx - (cx - view.x) * w / view.w;
    view.y = cy - (cy - view.y) * h / view.h;
    view.w = w; view.h = h;
    apply();
  };
  const toSVG = (ev) => {
    const r = svg.getBoundingClientRect();
    return { x: view.x + (ev.clientX - r.left) * view.w / r.width, y: view.y + (ev.clientY - r.top) * view.h / r.height };
  };
  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const p = toSVG(ev);
    zoom(ev.deltaY < 0 ? 1.2 : 1 / 1.2, p.x, p.y);
  }, { passive: false });
  let drag = null;
  svg.addEventListener("pointerdown", (ev) => {
    if (ev.target.closest("a")) return; // a host: follow the link
    drag = { x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y };
    svg.setPointerCapture(ev.pointerId);
    svg.classList.add("dragging");
  });
  svg.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const r = svg.getBoundingClientRect();
    view.x = drag.vx - (ev.clientX - drag.x) * view.w / r.width;
    view.y = drag.vy - (ev.clientY - drag.y) * view.h / r.height;
    apply();
  });
  const end = () => { drag = null; svg.classList.remove("dragging"); };
  svg.addEventListener("pointerup", end);
  svg.addEventListener("pointercancel", end);
  document.getElementById("topo-zoom-in").addEventListener("click", () => zoom(1.5));
  document.getElementById("topo-zoom-out").addEventListener("click", () => zoom(1 / 1.5));
  document.getElementById("topo-reset").addEventListener("click", () => { view = Object.assign({}, home); apply(); });
  window.outpostTopology = { zoom, get view() { return Object.assign({}, view); } };
  apply();
})();
