// The live cases a county-wide role watches, each with its nearest deadline: the map reads them from
// here. Loaded from supervision's case search, then kept current by the events of the streams
// (supervision's worklist `case`, routing's queue `entered`/`left`), which carry the whole line.

import { get, query } from "../api.js";

const CLOSED = new Set(["closed", "not_accepted", "redirected", "transferred", "answered"]);
export const DUE_SOON_SECONDS = 24 * 3600;

export function isOpen(c) { return !CLOSED.has(c.status); }

function nearest(file) {
  const pending = (file.deadlines || []).filter((d) => !d.met_at && d.due_at);
  if (!pending.length) return null;
  return pending.reduce((a, b) => (a.due_at <= b.due_at ? a : b)).due_at;
}

export function urgency(c) {
  if (!isOpen(c) || !c.due_at) return "none";
  const left = (new Date(c.due_at) - Date.now()) / 1000;
  if (c.overdue || left < 0) return "overdue";
  return left <= DUE_SOON_SECONDS ? "due_soon" : "on_time";
}

export class CaseStore {
  constructor(limit = 200) { this.limit = limit; this.cases = new Map(); this.known = new Map(); }

  list() { return [...this.cases.values()].sort((a, b) => String(b.received_at || b.at).localeCompare(String(a.received_at || a.at))); }

  // The list as supervision has it now; a line an event changed after the request left is newer than
  // the answer (routing's queue can tell of a case before supervision has written it) and stays.
  async load() {
    const asked = Date.now();
    const page = await get("supervision", "/v1/cases" + query({ limit: this.limit }));
    const kept = [...this.cases.values()].filter((c) => c.seen > asked);
    this.cases = new Map(page.items.map((c) => [c.case_id, { ...this.cases.get(c.case_id), ...c }]));
    for (const c of kept) this.cases.set(c.case_id, c);
    // the search answers no deadline: read it from the file of each open case whose state is new
    const stale = page.items.filter((c) => isOpen(c) && this.known.get(c.case_id) !== c.status);
    await Promise.all(stale.slice(0, 40).map(async (c) => {
      try {
        this.cases.get(c.case_id).due_at = nearest(await get("supervision", `/v1/cases/${c.case_id}`));
        this.known.set(c.case_id, c.status);
      } catch (e) { /* shown without its deadline */ }
    }));
  }

  // One stream event; false when the view should load the list again instead.
  apply(event) {
    let d;
    try { d = JSON.parse(event.data); } catch (e) { return false; }
    const old = { ...this.cases.get(d.case_id), case_id: d.case_id, seen: Date.now() };
    if (event.type === "case") {
      this.cases.set(d.case_id, { ...old, case_no: d.case_no, status: d.status, lead_unit: d.lead_unit,
        category: d.category ? { code: d.category, subcode: d.subcategory } : old.category, due_at: d.due_at,
        overdue: d.overdue, jurisdiction: { town: d.town, village: d.village, grid: d.grid }, at: d.at });
      this.known.set(d.case_id, d.status);
      return true;
    }
    if (event.type === "entered") {
      this.cases.set(d.case_id, { ...old, case_no: d.case_no, status: "manual_dispatch", jurisdiction: d.jurisdiction,
        suggested_lead_unit: d.suggested_lead_unit, explanation: d.explanation, category: d.category, at: d.at });
      return true;
    }
    if (event.type === "left") {
      if (old.status === "manual_dispatch") this.cases.set(d.case_id, { ...old, status: "assigned", lead_unit: d.lead_unit });
      return true;
    }
    return false; // ready, reset, removed: read the list again
  }
}
