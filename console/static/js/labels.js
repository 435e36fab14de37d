// Chinese words for the codes the services answer with. Unknown codes show as they are.

export const STATUS = {
  registered: "已登记", screening: "待甄别", not_accepted: "不予受理", redirected: "已引导", transferred: "已转办",
  answered: "已解答", manual_dispatch: "待人工派单", assigned: "已派单", signed: "已签收", in_progress: "办理中",
  in_mediation: "调解中", route_disputed: "争议管辖", replied: "已答复", followed_up: "已回访", closed: "已办结",
  reopened: "重办", review_requested: "申请复查", review_answered: "复查已答复", re_review_requested: "申请复核",
};

export const CHANNEL = {
  hotline_12345: "12345热线", petition_visit: "信访走访", petition_letter: "来信", petition_online: "网上信访",
  police_110: "110转办", grid_report: "网格上报", video: "视频信访", proactive: "主动排查", open311: "Open311",
};

export const ROLE = {
  reception_clerk: "受理员", dispatcher: "调度员", unit_handler: "承办人", unit_leader: "单位负责人",
  supervisor: "督办员", county_leader: "县领导", mediator: "调解员", auditor: "审计员", admin: "管理员",
  grid_worker: "网格员",
  proxy_agent: "代办员",
};

export const SERVICE = { intake: "受理", routing: "分拨", mediation: "调解", supervision: "督办", notify: "通知" };
export const DEADLINE = { response: "响应", sign: "签收", handling: "办理", reply: "答复", followup: "回访" };

export const RATES = [
  ["response_rate", "响应率"], ["resolution_rate", "解决率"], ["satisfaction_rate", "满意率"],
  ["on_time_reply_rate", "按期办结率"],
];

export const word = (table, code) => (code == null ? "—" : table[code] || code);

export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toLocaleString("zh-CN", { hour12: false });
}

export function timeLeft(seconds) {
  if (seconds == null) return "—";
  const late = seconds < 0;
  let s = Math.abs(seconds);
  const d = Math.floor(s / 86400); s %= 86400;
  const h = Math.floor(s / 3600); const m = Math.floor((s % 3600) / 60);
  const text = d ? `${d}天${h}小时` : h ? `${h}小时${m}分` : `${m}分`;
  return late ? `超期 ${text}` : `剩余 ${text}`;
}

export const EVENT = {
  received: "登记受理", screened: "甄别", routed: "自动派单", rerouted: "改派", assigned: "派单", signed: "签收",
  progressed: "办理进展", extended: "延期", replied: "答复", followed_up: "回访", closed: "办结", reopened: "重办",
  review_requested: "申请复查", review_answered: "复查答复", route_disputed: "争议管辖", escalated: "督办升级",
  supervised: "督办", overdue: "超期", deadline_warning: "临期提醒", sent: "通知已发送", failed: "通知失败",
  opened: "调解立案", concluded: "调解结束", made: "转介", accepted: "接收",
};

// What a timeline entry says: the step's name, and who it went to and why (never personal data).
export function eventText(entry, unitName) {
  const kind = String(entry.type || "").split(".").pop();
  const s = entry.summary || {};
  const lead = s.lead_unit && (typeof s.lead_unit === "object" ? s.lead_unit.name || unitName(s.lead_unit.code) : unitName(s.lead_unit));
  const parts = [word(EVENT, kind)];
  if (lead) parts.push(`→ ${lead}`);
  if (s.queue === "manual") parts.push("（人工派单）");
  for (const k of ["manual_reason", "reason", "note", "result", "rating"]) if (typeof s[k] === "string" && s[k]) parts.push(`：${s[k]}`);
  if (s.days) parts.push(`${s.days}天`);
  return parts.join(" ");
}

// Which service wrote an event ("/dispatch/routing" -> 路由).
export function sourceText(source) {
  const name = String(source || "").split("/").pop();
  return { intake: "受理", routing: "派单", supervision: "督办", notify: "通知", mediation: "调解" }[name] || name;
}
