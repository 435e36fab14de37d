// The county map: towns, villages and grids, with the live cases placed on their grid (or village, or
// town: never the petitioner's own point), coloured by state and by deadline, each a link to its case.

import { h, s, errorBox } from "../dom.js";
import { projection, pathOf, centroidOf, levelOf, jitter } from "../geo.js";
import { STATUS, word, timeLeft } from "../labels.js";
import { CaseStore, isOpen, urgency } from "./cases.js";

const W = 960, H = 720;

export function mapView(ctx) {
  const features = ctx.geography.features;
  const project = projection(features, W, H);
  const centre = new Map(features.map((f) => [f.properties.code, centroidOf(f, project)]));
  const order = { county: 0, town: 1, village: 2, grid: 3 };
  const shapes = [...features].sort((a, b) => order[levelOf(a)] - order[levelOf(b)]).map((f) =>
    s("path", { d: pathOf(f, project), class: `area ${levelOf(f)}`, "data-code": f.properties.code },
      s("title", {}, f.properties.name)));
  const labels = features.filter((f) => levelOf(f) === "town").map((f) => {
    const [x, y] = centre.get(f.properties.code);
    return s("text", { x, y, class: "town-label" }, f.properties.name);
  });
  const dots = s("g", { class: "cases" });
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "county-map", role: "img", "aria-label": "县域地图" },
    s("g", {}, shapes), s("g", {}, labels), dots);
  const count = h("span", { class: "count" });
  const status = h("p", { class: "status-line" });
  const root = h("section", { class: "map-view" },
    h("header", { class: "view-head" }, h("h2", {}, "县域案件地图"), count, legend()),
    h("div", { class: "map-frame" }, svg), status);

  const store = new CaseStore();

  function place(c) {
    c.urgency = urgency(c);
    const j = c.jurisdiction || {};
    const at = centre.get(j.grid) || centre.get(j.village) || centre.get(j.town);
    if (!at) return null;
    const [dx, dy] = jitter(c.case_id, j.grid ? 8 : 16);
    const dot = s("circle", {
      cx: (at[0] + dx).toFixed(1), cy: (at[1] + dy).toFixed(1), r: 7,
      class: `case-dot st-${c.status} due-${c.urgency}${isOpen(c) ? "" : " done"}`, "data-case-id": c.case_id, tabindex: 0,
    }, s("title", {}, `${c.case_no} ${word(STATUS, c.status)} ${c.due_at ? timeLeft((new Date(c.due_at) - Date.now()) / 1000) : ""}`));
    dot.addEventListener("click", () => { location.hash = `#/case/${c.case_id}`; });
    return dot;
  }

  async function refresh(event) {
    try {
      if (!event || !store.apply(event)) await store.load();
      const cases = store.list();
      dots.replaceChildren(...cases.map(place).filter(Boolean));
      count.textContent = `${cases.length} 件`;
      status.textContent = `更新于 ${new Date().toLocaleTimeString("zh-CN", { hour12: false })}`;
    } catch (e) { status.replaceChildren(errorBox(e)); }
  }
  return { root, refresh, watch: [{ service: "routing", stream: "/v1/streams/queue" }, { service: "supervision", stream: "/v1/streams/worklist" }] };
}

function legend() {
  const item = (cls, text) => h("span", { class: "legend-item" }, h("i", { class: `swatch ${cls}` }), text);
  return h("div", { class: "legend" },
    item("st-manual_dispatch", "待人工派单"), item("st-assigned", "已派单/办理中"), item("st-replied", "已答复"),
    item("st-closed", "已办结"), item("due-due_soon", "即将到期"), item("due-overdue", "已超期"));
}
