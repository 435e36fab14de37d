// The live cases a county-wide role watches, with each open case's nearest deadline: the map and the
// board read them from here. The list is supervision's case search; deadlines come from each open
// case's file, read again only when its status changes.

import { get, query } from "../api.js";

const CLOSED = new Set(["closed", "not_accepted", "redirected", "transferred", "answered"]);
export const DUE_SOON_SECONDS = 24 * 3600;

const files = new Map(); // case_id -> {status, deadline}

export function isOpen(c) { return !CLOSED.has(c.status); }

function nearest(file) {
  const pending = (file.deadlines || []).filter((d) => !d.met_at && d.remaining_seconds != null);
  if (!pending.length) return null;
  return pending.reduce((a, b) => (a.remaining_seconds <= b.remaining_seconds ? a : b));
}

export function urgency(deadline) {
  if (!deadline) return "none";
  if (deadline.overdue || deadline.remaining_seconds < 0) return "overdue";
  return deadline.remaining_seconds <= DUE_SOON_SECONDS ? "due_soon" : "on_time";
}

export async function liveCases(limit = 200) {
  const page = await get("supervision", "/v1/cases" + query({ limit }));
  const cases = page.items;
  const stale = cases.filter((c) => isOpen(c) && files.get(c.case_id)?.status !== c.status);
  await Promise.all(stale.slice(0, 40).map(async (c) => {
    try {
      const file = await get("supervision", `/v1/cases/${c.case_id}`);
      files.set(c.case_id, { status: c.status, deadline: nearest(file) });
    } catch (e) { files.set(c.case_id, { status: c.status, deadline: null }); }
  }));
  for (const c of cases) {
    const known = files.get(c.case_id);
    c.deadline = isOpen(c) && known ? known.deadline : null;
    c.urgency = urgency(c.deadline);
  }
  return cases;
}
