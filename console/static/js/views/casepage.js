// The case page: the case file, the timeline with who and why, deadlines with time left, notices sent,
// mediations and referrals, and the actions the signed-in role may take.

import { call, get, query } from "../api.js";
import { can, session } from "../auth.js";
import { h, table, errorBox } from "../dom.js";
import { CHANNEL, DEADLINE, ROLE, STATUS, eventText, sourceText, word, when, timeLeft } from "../labels.js";

const code = (u) => (u && typeof u === "object" ? u.code : u);

export function caseView(ctx, caseId) {
  const body = h("div", { class: "case-body" });
  const root = h("section", { class: "case-view", "data-case-id": caseId },
    h("header", { class: "view-head" }, h("h2", {}, "案件详情"), h("a", { href: "#/", class: "back" }, "返回")), body);
  let version = null;

  async function optional(service, path) {
    try { return await get(service, path); } catch (e) { return null; }
  }

  async function refresh() {
    try {
      const r = await call("supervision", `/v1/cases/${caseId}`);
      const file = r.data;
      if (version && version === JSON.stringify([file.status, file.timeline?.length, file.actions?.length])) return;
      version = JSON.stringify([file.status, file.timeline?.length, file.actions?.length]);
      const s = session();
      const [route, notices, mediations, referrals] = await Promise.all([
        optional("routing", `/v1/routes/${caseId}`),
        can(s, "notices") ? optional("notify", "/v1/notifications" + query({ case_id: caseId })) : null,
        optional("mediation", "/v1/mediations" + query({ case_id: caseId })),
        optional("mediation", "/v1/referrals" + query({ case_id: caseId })),
      ]);
      body.replaceChildren(
        ...[summary(ctx, file), actions(ctx, file, r.etag, refresh), deadlines(file), timeline(ctx, file),
        route ? h("section", { class: "panel" }, h("h3", {}, "派单依据"), h("ul", {}, route.explanation.map((l) => h("li", {}, l)))) : null,
        noticesPanel(notices), mediationPanel(mediations, referrals)].filter(Boolean));
    } catch (e) { body.replaceChildren(errorBox(e.status === 404 ? new Error("无此案件，或无权查看") : e)); }
  }
  return { root, refresh, watch: [{ service: "supervision", stream: `/v1/streams/cases/${caseId}` }] };
}

function summary(ctx, f) {
  const row = (k, v) => [h("dt", {}, k), h("dd", {}, v)];
  const j = f.jurisdiction || {};
  return h("section", { class: "panel summary" },
    h("h3", {}, f.case_no, " ", h("span", { class: `badge st-${f.status}`, "data-status": f.status }, word(STATUS, f.status))),
    h("dl", {},
      row("渠道", word(CHANNEL, f.channel)), row("属地", [j.town, j.village, j.grid].filter(Boolean).map(ctx.areaName).join(" / ") || "—"),
      row("分类", f.category ? `${f.category.code || ""} ${f.category.subcode || ""}` : "—"), row("层级", f.tier || "—"),
      row("承办单位", h("span", { class: "lead-unit" }, f.lead_unit ? ctx.unitName(code(f.lead_unit)) : "—")),
      row("系统建议", f.suggested_lead_unit ? ctx.unitName(code(f.suggested_lead_unit)) : "—"),
      row("协办单位", (f.assisting_units || []).map((u) => ctx.unitName(code(u))).join("、") || "—"),
      row("登记时间", when(f.received_at)), row("派单时间", when(f.assigned_at)), row("签收时间", when(f.signed_at)),
      row("答复", f.reply ? `${f.reply.result}：${f.reply.text}` : "—"), row("评价", f.rating ? f.rating.rating || JSON.stringify(f.rating) : "—")));
}

function deadlines(f) {
  return h("section", { class: "panel" }, h("h3", {}, "期限"), table([
    ["期限", (d) => d.label || word(DEADLINE, d.kind)], ["到期", (d) => when(d.due_at)],
    ["状态", (d) => (d.met_at ? `已完成 ${when(d.met_at)}` : h("span", { class: d.overdue ? "overdue" : "" }, timeLeft(d.remaining_seconds)))],
  ], f.deadlines || []));
}

function timeline(ctx, f) {
  const entries = [
    ...(f.timeline || []).filter((e) => !e.type.startsWith("dispatch.case.") || !["signed", "progressed", "replied", "extended", "followed_up", "closed"].includes(e.type.split(".").pop()))
      .map((e) => ({ at: e.time, who: sourceText(e.source), what: eventText(e, ctx.unitName) })),
    ...(f.actions || []).map((a) => ({ at: a.at, who: `${word(ROLE, a.by?.role)} ${a.by?.unit || ""}`, what: `${a.label || a.action}${a.note ? `：${a.note}` : ""}` })),
  ].sort((a, b) => String(a.at).localeCompare(String(b.at)));
  return h("section", { class: "panel timeline" }, h("h3", {}, "办理过程"),
    h("ol", {}, entries.map((e) => h("li", {}, h("time", {}, when(e.at)), h("b", {}, e.who), h("span", {}, e.what)))));
}

function noticesPanel(notices) {
  if (!notices) return null;
  return h("section", { class: "panel" }, h("h3", {}, "通知"), table([
    ["时间", (n) => when(n.sent_at || n.created_at)], ["对象", (n) => n.audience], ["渠道", (n) => n.channel],
    ["状态", (n) => n.status], ["内容", (n) => n.subject || n.kind],
  ], notices.items || []));
}

function mediationPanel(mediations, referrals) {
  const m = mediations?.items || [], r = referrals?.items || [];
  if (!m.length && !r.length) return h("section", { class: "panel" }, h("h3", {}, "调解与转介"), h("p", {}, "无"));
  return h("section", { class: "panel" }, h("h3", {}, "调解与转介"),
    m.map((x) => h("p", {}, `调解 ${x.organization?.name || ""}：${x.status}`)),
    r.map((x) => h("p", {}, `转介 ${x.kind}：${x.status}`)));
}

// One small form per action the signed-in role may take now.
function actions(ctx, f, etag, done) {
  const s = session();
  const lead = can(s, "lead") && code(f.lead_unit) === s.unit;
  const forms = [];
  const act = (label, path, fields, toBody) => {
    const inputs = fields.map(([name, kind, text, options]) => kind === "select"
      ? h("select", { name, "aria-label": text }, options.map(([v, t]) => h("option", { value: v }, t)))
      : h("input", { name, type: kind, placeholder: text, "aria-label": text }));
    const out = h("span", { class: "result" });
    const button = h("button", { type: "submit", "data-action": path }, label);
    forms.push(h("form", { class: "action", onsubmit: async (ev) => {
      ev.preventDefault();
      button.disabled = true;
      const values = Object.fromEntries(inputs.map((i) => [i.name, i.value]));
      try {
        await call(path.startsWith("routing:") ? "routing" : "supervision", path.replace(/^routing:/, ""),
          { method: "POST", body: toBody(values), ifMatch: path.startsWith("routing:") ? undefined : etag });
        await done();
      } catch (e) { out.replaceChildren(errorBox(e)); button.disabled = false; }
    } }, inputs, button, out));
  };
  const id = f.case_id;
  if (lead && f.status === "assigned") act("签收", `/v1/cases/${id}/sign`, [["note", "text", "签收备注"]], (v) => (v.note ? { note: v.note } : {}));
  if (lead && ["signed", "in_progress", "reopened"].includes(f.status)) {
    act("办理进展", `/v1/cases/${id}/progress`, [["note", "text", "进展说明"]], (v) => ({ note: v.note }));
    act("申请延期", `/v1/cases/${id}/extension`, [["days", "number", "天数"], ["reason", "text", "延期理由"]], (v) => ({ days: Number(v.days), reason: v.reason }));
    act("答复办结", `/v1/cases/${id}/reply`, [["result", "select", "结果", [["resolved", "已解决"], ["explained", "已解释说明"], ["not_supported", "不予支持"]]], ["text", "text", "答复内容"]], (v) => ({ result: v.result, text: v.text }));
  }
  if (can(s, "assign") && !["closed", "replied", "followed_up"].includes(f.status) && f.status !== "manual_dispatch") {
    act("改派", `routing:/v1/routes/${id}/override`, [["lead_unit", "select", "承办单位", ctx.units.map((u) => [u.code, u.name])], ["reason", "text", "改派理由"]], (v) => ({ lead_unit: v.lead_unit, reason: v.reason }));
  }
  if (can(s, "assign") && f.status === "manual_dispatch") {
    act("派单", `routing:/v1/routes/${id}/override`, [["lead_unit", "select", "承办单位", ctx.units.map((u) => [u.code, u.name])], ["reason", "text", "派单理由"]], (v) => ({ lead_unit: v.lead_unit, reason: v.reason }));
  }
  if (can(s, "decide_extension") && f.extension_request && !f.extension_request.decided_at) {
    act("延期审批", `/v1/cases/${id}/extension/decision`, [["approve", "select", "决定", [["true", "同意"], ["false", "不同意"]]], ["reason", "text", "理由"]], (v) => ({ approve: v.approve === "true", reason: v.reason }));
  }
  if (can(s, "followup") && f.status === "replied") {
    act("回访", `/v1/cases/${id}/followup`, [["rating", "select", "评价", [["satisfied", "满意"], ["basically_satisfied", "基本满意"], ["dissatisfied", "不满意"]]], ["note", "text", "回访记录"]], (v) => ({ rating: v.rating, note: v.note, reopen: false }));
  }
  if (can(s, "assign") && ["followed_up", "review_answered"].includes(f.status)) act("结案", `/v1/cases/${id}/close`, [], () => ({}));
  return h("section", { class: "panel actions" }, h("h3", {}, "可办理操作"), forms.length ? forms : h("p", {}, "当前无可办理操作"));
}
