// The manual dispatch queue: cases routing gave to people, with routing's explanation and suggested
// unit; a dispatcher assigns (or corrects) with one action, routing's override.

import { call, get, query } from "../api.js";
import { h, errorBox } from "../dom.js";
import { when } from "../labels.js";

export function queueView(ctx) {
  const list = h("div", { class: "queue-list" });
  const status = h("p", { class: "status-line" });
  const root = h("section", { class: "queue-view" },
    h("header", { class: "view-head" }, h("h2", {}, "人工派单队列")), list, status);
  const routes = new Map();

  function unitPicker(suggested) {
    const select = h("select", { name: "lead_unit", "aria-label": "承办单位" },
      ctx.units.map((u) => h("option", { value: u.code, selected: u.code === suggested }, u.name)));
    if (!suggested) select.prepend(h("option", { value: "", selected: true, disabled: true }, "选择承办单位"));
    return select;
  }

  function card(c, route) {
    const suggested = route?.lead_unit?.code || c.suggested_lead_unit?.code || null;
    const select = unitPicker(suggested);
    const reason = h("input", { name: "reason", placeholder: "派单理由", value: suggested ? "采纳系统建议" : "" });
    const result = h("span", { class: "result" });
    const button = h("button", { class: "primary", type: "submit" }, "派单");
    const form = h("form", { class: "assign", onsubmit: async (ev) => {
      ev.preventDefault();
      if (!select.value || !reason.value.trim()) { result.textContent = "请选择单位并填写理由"; return; }
      button.disabled = true;
      try {
        await call("routing", `/v1/routes/${c.case_id}/override`, {
          method: "POST", body: { reason: reason.value.trim(), lead_unit: select.value }, ifMatch: route?.etag,
        });
        location.hash = `#/case/${c.case_id}`;
      } catch (e) { result.replaceChildren(errorBox(e)); button.disabled = false; }
    } }, select, reason, button, result);
    return h("article", { class: "queue-item", "data-case-id": c.case_id, "data-seen": c.seen },
      h("h3", {}, h("a", { href: `#/case/${c.case_id}` }, c.case_no), " ", h("small", {}, c.category?.code ? `分类 ${c.category.code}` : "")),
      h("p", { class: "meta" }, `登记 ${when(c.received_at)}`),
      h("ul", { class: "explanation" }, (route?.explanation || []).map((line) => h("li", {}, line))),
      h("p", {}, "系统建议：", suggested ? ctx.unitName(suggested) : "无"), form);
  }

  async function refresh(event) {
    if (event) {
      let d = null;
      try { d = JSON.parse(event.data); } catch (e) { /* not ours */ }
      if (event.type === "entered" && d) {
        routes.set(d.case_id, { explanation: d.explanation, lead_unit: d.suggested_lead_unit });
        list.querySelector(`[data-case-id='${d.case_id}']`)?.remove();
        list.prepend(card({ seen: Date.now(), case_id: d.case_id, case_no: d.case_no, category: d.category, received_at: d.at }, routes.get(d.case_id)));
        status.textContent = `${list.children.length} 件待派`;
        return;
      }
      if (event.type === "left" && d) {
        list.querySelector(`[data-case-id='${d.case_id}']`)?.remove();
        status.textContent = list.children.length ? `${list.children.length} 件待派` : "队列为空";
        return;
      }
      if (event.type === "case") return; // a worklist change: the queue hears of its own cases itself
    }
    try {
      const asked = Date.now();
      const page = await get("supervision", "/v1/cases" + query({ status: "manual_dispatch", limit: 50 }));
      for (const c of page.items) {
        if (routes.has(c.case_id)) continue;
        try {
          const r = await call("routing", `/v1/routes/${c.case_id}`);
          routes.set(c.case_id, { ...r.data, etag: r.etag });
        } catch (e) { /* routed later: shown without the explanation for now */ }
      }
      const shown = new Set([...list.children].map((el) => el.dataset.caseId));
      const now = new Set(page.items.map((c) => c.case_id));
      for (const el of [...list.children]) if (!now.has(el.dataset.caseId) && !(Number(el.dataset.seen) > asked)) el.remove();
      for (const c of page.items) if (!shown.has(c.case_id)) list.append(card(c, routes.get(c.case_id)));
      status.textContent = page.items.length ? `${page.items.length} 件待派` : "队列为空";
    } catch (e) { status.replaceChildren(errorBox(e)); }
  }
  return { root, refresh, watch: [{ service: "routing", stream: "/v1/streams/queue" }, { service: "supervision", stream: "/v1/streams/worklist" }] };
}
