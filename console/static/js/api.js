// Calls to the five services with the signed-in person's bearer token; errors as problem+json.

import { session } from "./auth.js";

export class Problem extends Error {
  constructor(status, body) {
    const detail = (body && (body.detail || body.title)) || `HTTP ${status}`;
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.body = body;
  }
}

let services = {};
export function useServices(urls) { services = urls; }
export const serviceUrl = (service, path) => services[service] + path;

export async function call(service, path, { method = "GET", body, ifMatch, signal } = {}) {
  const headers = { Authorization: `Bearer ${session().token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (ifMatch) headers["If-Match"] = ifMatch;
  const r = await fetch(serviceUrl(service, path), {
    method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const type = r.headers.get("content-type") || "";
  const data = type.includes("json") ? await r.json() : await r.text();
  if (!r.ok) throw new Problem(r.status, data);
  return { data, etag: r.headers.get("ETag") };
}

export const get = async (service, path) => (await call(service, path)).data;

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== "") q.append(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}
