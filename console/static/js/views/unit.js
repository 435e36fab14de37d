// A unit's view: its worklist (sign, progress, reply, ask for an extension, on each case's page) and
// its inbox.

import { call, get, query } from "../api.js";
import { session } from "../auth.js";
import { h, table, errorBox } from "../dom.js";
import { STATUS, DEADLINE, word, when } from "../labels.js";

export function unitView(ctx) {
  const work = h("div", { class: "worklist" });
  const inbox = h("div", { class: "inbox" });
  const s = session();
  const root = h("section", { class: "unit-view" },
    h("header", { class: "view-head" }, h("h2", {}, `${ctx.unitName(s.unit)} 工作台`)),
    h("div", { class: "two-columns" },
      h("section", { class: "panel" }, h("h3", {}, "待办案件"), work),
      h("section", { class: "panel" }, h("h3", {}, "收件箱"), inbox)));

  async function refresh() {
    try {
      const list = await get("supervision", "/v1/worklist" + query({ limit: 100 }));
      work.replaceChildren(table([
        ["编号", (c) => h("a", { href: `#/case/${c.case_id}` }, c.case_no)],
        ["状态", (c) => h("span", { class: `badge st-${c.status}` }, word(STATUS, c.status))],
        ["角色", (c) => (c.role === "lead" ? "主办" : "协办")],
        ["期限", (c) => (c.due_at ? `${word(DEADLINE, c.due_kind)} ${when(c.due_at)}` : "—")],
        ["", (c) => (c.overdue ? h("span", { class: "overdue" }, "已超期") : "")],
      ], list.items.map((c) => ({ ...c, __attrs: { "data-case-id": c.case_id } }))));
      if (!list.items.length) work.replaceChildren(h("p", { class: "empty" }, "暂无待办案件"));
    } catch (e) { work.replaceChildren(errorBox(e)); }
    try {
      const box = await get("notify", "/v1/inbox" + query({ limit: 30 }));
      inbox.replaceChildren(box.items.length ? h("ul", { class: "messages" }, box.items.map((m) =>
        h("li", { class: m.read ? "read" : "unread" }, h("time", {}, when(m.created_at)), " ",
          m.case_id ? h("a", { href: `#/case/${m.case_id}` }, m.subject || m.kind) : m.subject || m.kind,
          m.read ? "" : h("button", { class: "link", onclick: async () => { await call("notify", `/v1/inbox/${m.id}/read`, { method: "POST" }); refresh(); } }, "标为已读"))))
        : h("p", { class: "empty" }, "收件箱为空"));
    } catch (e) { inbox.replaceChildren(errorBox(e)); }
  }
  return { root, refresh, watch: [{ service: "supervision", stream: "/v1/streams/worklist" }, { service: "notify", stream: "/v1/streams/inbox" }] };
}
