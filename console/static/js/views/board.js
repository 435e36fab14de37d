// The center's board for the big screen: today's intake by channel, the four rates for a chosen period,
// overdue and due-soon cases, early warnings, the load per town and per unit, and the proxy agents'
// figures by tier (三级代办, docs/agents.md).

import { get, query } from "../api.js";
import { can, session } from "../auth.js";
import { h, table, errorBox } from "../dom.js";
import { CHANNEL, RATES, word, when } from "../labels.js";
import { CaseStore, isOpen, urgency } from "./cases.js";

const month = (d) => d.toISOString().slice(0, 7);
const TIER = { village: "村级", town: "镇级", county: "县级" };

function rates(rows) {
  const sum = {};
  for (const row of rows) for (const [k, v] of Object.entries(row.counts || {})) sum[k] = (sum[k] || 0) + v;
  const rate = (a, b) => (sum[b] ? sum[a] / sum[b] : null);
  return {
    response_rate: rate("signed_in_time", "assigned"), resolution_rate: rate("resolved", "replied"),
    satisfaction_rate: rate("satisfied", "rated"), on_time_reply_rate: rate("replied_in_time", "assigned"),
  };
}

function bars(title, counts, name) {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  const max = Math.max(1, ...entries.map(([, n]) => n));
  return h("section", { class: "panel bars" }, h("h3", {}, title), entries.length ? entries.map(([k, n]) =>
    h("div", { class: "bar" }, h("span", { class: "bar-name" }, name(k)),
      h("span", { class: "bar-track" }, h("span", { class: "bar-fill", style: `width:${(100 * n) / max}%` })),
      h("b", {}, n))) : h("p", {}, "无"));
}

export function boardView(ctx) {
  const now = new Date();
  const from = h("input", { type: "month", value: month(new Date(now.getFullYear(), now.getMonth() - 2, 15)), "aria-label": "起始月" });
  const to = h("input", { type: "month", value: month(now), "aria-label": "截止月" });
  const grid = h("div", { class: "board-grid" });
  const root = h("section", { class: "board-view" },
    h("header", { class: "view-head" }, h("h2", {}, "综合调度中心"),
      h("label", { class: "period" }, "统计期间 ", from, " 至 ", to)), grid);
  from.addEventListener("change", () => refresh());
  to.addEventListener("change", () => refresh());

  const store = new CaseStore();

  async function refresh() {
    try {
      const s = session();
      const today = new Date(); today.setHours(0, 0, 0, 0);
      const [cases, kpis, warnings, agents] = await Promise.all([
        store.load().then(() => store.list().map((c) => ({ ...c, urgency: urgency(c) }))),
        can(s, "figures") ? get("supervision", "/v1/kpis" + query({ group_by: "unit", from: from.value, to: to.value })) : { rows: [] },
        can(s, "warnings") ? get("supervision", "/v1/warnings" + query({ limit: 8 })) : { items: [] },
        can(s, "figures") ? get("supervision", "/v1/agent-figures") : { tiers: [] },
      ]);
      const todays = cases.filter((c) => new Date(c.received_at) >= today);
      const byChannel = {};
      for (const c of todays) byChannel[c.channel || "—"] = (byChannel[c.channel || "—"] || 0) + 1;
      const open = cases.filter(isOpen);
      const byTown = {}, byUnit = {};
      for (const c of open) {
        const t = c.jurisdiction?.town; if (t) byTown[t] = (byTown[t] || 0) + 1;
        const u = typeof c.lead_unit === "object" ? c.lead_unit?.code : c.lead_unit; if (u) byUnit[u] = (byUnit[u] || 0) + 1;
      }
      const r = rates(kpis.rows || []);
      const late = open.filter((c) => c.urgency === "overdue" || c.urgency === "due_soon");
      grid.replaceChildren(
        h("section", { class: "panel rates" }, h("h3", {}, "四率"), RATES.map(([k, label]) =>
          h("div", { class: "rate", "data-rate": k }, h("b", {}, r[k] == null ? "—" : `${(100 * r[k]).toFixed(1)}%`), h("span", {}, label)))),
        h("section", { class: "panel today" }, h("h3", {}, "今日受理"), h("p", { class: "big" }, todays.length, " 件"),
          bars("按渠道", byChannel, (k) => word(CHANNEL, k))),
        h("section", { class: "panel" }, h("h3", {}, `超期与即将到期 (${late.length})`), table([
          ["编号", (c) => h("a", { href: `#/case/${c.case_id}` }, c.case_no)],
          ["状态", (c) => h("span", { class: `due-${c.urgency}` }, c.urgency === "overdue" ? "已超期" : "即将到期")],
          ["承办", (c) => ctx.unitName(typeof c.lead_unit === "object" ? c.lead_unit?.code : c.lead_unit)],
        ], late.slice(0, 12))),
        h("section", { class: "panel" }, h("h3", {}, "预警"), table([
          ["类型", (w) => ({ cluster: "聚集", repeat: "重复", trend: "趋势" })[w.kind] || w.kind],
          ["说明", (w) => w.summary || w.reason || w.title || ""], ["时间", (w) => when(w.created_at || w.at)],
        ], warnings.items || [])),
        h("section", { class: "panel agents" }, h("h3", {}, "三级代办"), table([
          ["层级", (t) => TIER[t.tier] || t.tier], ["代办", (t) => t.taken], ["化解", (t) => t.resolved],
          ["在办", (t) => t.pending], ["满意率", (t) => (t.satisfaction == null ? "—" : `${(100 * t.satisfaction).toFixed(1)}%`)],
        ], agents.tiers || [])),
        bars("各镇街在办", byTown, ctx.areaName), bars("各单位在办", byUnit, ctx.unitName));
    } catch (e) { grid.replaceChildren(errorBox(e)); }
  }
  return { root, refresh, watch: [{ service: "supervision", stream: "/v1/streams/board" }] };
}
