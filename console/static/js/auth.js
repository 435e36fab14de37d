// Who is signed in: a development token for a picked role and unit, or, in production, OpenID Connect
// (authorization code with PKCE) at the county's identity provider. The token lives in sessionStorage:
// gone with the tab, never in a cookie the services would have to trust.

const KEY = "console.session";
const PENDING = "console.oidc";

export const COUNTY_WIDE = new Set(["dispatcher", "supervisor", "county_leader", "auditor", "admin", "reception_clerk"]);

export function claims(token) {
  const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  const json = decodeURIComponent([...atob(part)].map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""));
  return JSON.parse(json);
}

export function session() {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  const s = JSON.parse(raw);
  if (s.exp && s.exp * 1000 < Date.now()) { sessionStorage.removeItem(KEY); return null; }
  return s;
}

function remember(token) {
  const c = claims(token);
  const s = { token, role: c.role, unit: c.unit || null, area: c.area || null, sub: c.sub, exp: c.exp };
  sessionStorage.setItem(KEY, JSON.stringify(s));
  return s;
}

export function signOut() { sessionStorage.removeItem(KEY); }

// What each role may do in the console; the services decide, the console only hides what would fail.
export function can(s, what) {
  const r = s.role;
  switch (what) {
    case "map": case "board": return COUNTY_WIDE.has(r);
    case "queue": case "assign": return r === "dispatcher" || r === "supervisor";
    case "unit": return (r === "unit_handler" || r === "unit_leader") && !!s.unit;
    case "lead": return (r === "unit_handler" || r === "unit_leader") && !!s.unit;
    case "followup": return ["dispatcher", "reception_clerk", "supervisor"].includes(r);
    case "decide_extension": return r === "supervisor" || r === "county_leader";
    case "warnings": case "figures": return ["supervisor", "county_leader", "dispatcher", "auditor", "admin"].includes(r);
    case "notices": return COUNTY_WIDE.has(r);
    default: return false;
  }
}

export async function devSignIn(role, unit) {
  const r = await fetch("/dev/token", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ role, unit: unit || null }),
  });
  const body = await r.json();
  if (!r.ok) throw new Error(body.detail || `HTTP ${r.status}`);
  return remember(body.access_token);
}

// --- OpenID Connect, authorization code with PKCE (RFC 7636) ---

const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));

async function discovery(issuer) {
  const r = await fetch(issuer.replace(/\/$/, "") + "/.well-known/openid-configuration");
  if (!r.ok) throw new Error(`身份认证服务不可用 (HTTP ${r.status})`);
  return r.json();
}

export async function oidcSignIn(oidc) {
  const meta = await discovery(oidc.issuer);
  const verifier = random(48);
  const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const state = random(16);
  const redirect = location.origin + location.pathname;
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, redirect, back: location.hash }));
  const q = new URLSearchParams({
    response_type: "code", client_id: oidc.client_id, redirect_uri: redirect, scope: oidc.scope,
    state, code_challenge: challenge, code_challenge_method: "S256",
  });
  location.assign(`${meta.authorization_endpoint}?${q}`);
}

// Back from the provider with ?code=&state=: exchange the code for tokens, with the verifier.
export async function oidcCallback(oidc) {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, "", location.pathname + (pending?.back || ""));
  if (params.has("error")) throw new Error(params.get("error_description") || params.get("error"));
  if (!pending || params.get("state") !== pending.state) throw new Error("登录状态不符，请重新登录");
  const meta = await discovery(oidc.issuer);
  const r = await fetch(meta.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", code: params.get("code"), redirect_uri: pending.redirect,
      client_id: oidc.client_id, code_verifier: pending.verifier,
    }),
  });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error_description || body.error || `HTTP ${r.status}`);
  return remember(body.access_token);
}
