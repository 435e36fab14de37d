// The console's shell: configuration, sign-in, the screens the signed-in role may see (hash routes),
// and the live watch of the screen on show.

import { useServices } from "./api.js";
import { can, devSignIn, oidcCallback, oidcSignIn, session, signOut } from "./auth.js";
import { h, errorBox } from "./dom.js";
import { ROLE, word } from "./labels.js";
import { Watch } from "./live.js";
import { Pipeline } from "./pipeline.js";
import { boardView } from "./views/board.js";
import { caseView } from "./views/casepage.js";
import { mapView } from "./views/map.js";
import { queueView } from "./views/queue.js";
import { unitView } from "./views/unit.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
let current = null;
let pipeline = null; // the services' backlog banner, read while someone is signed in

async function load(path) {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

function screens(s) {
  const all = [
    ["#/map", "地图与派单", "map"], ["#/board", "大屏", "board"], ["#/unit", "本单位", "unit"],
  ];
  return all.filter(([, , what]) => can(s, what));
}

function mount(ctx, view) {
  if (current) current.watches.forEach((w) => w.stop());
  main.replaceChildren(view.root);
  view.refresh();
  const live = document.getElementById("live");
  const showMode = () => {
    const modes = new Set(watches.map((w) => w.mode));
    const state = modes.has("connecting") ? "connecting" : modes.has("poll") ? "poll" : "live";
    live.dataset.state = watches.length ? state : "none";
    live.textContent = { connecting: "连接中…", poll: "定时刷新", live: "实时", none: "" }[live.dataset.state];
  };
  const watches = (view.watch || []).map((w) => new Watch({
    ...w, pollSeconds: ctx.config.poll_seconds, onChange: (event) => view.refresh(event), onMode: showMode,
  }));
  current = { view, watches };
  showMode();
  watches.forEach((w) => w.start());
}

function route(ctx) {
  const s = session();
  if (!s) return signInScreen(ctx);
  pipeline.start();
  const allowed = screens(s);
  nav.replaceChildren(...allowed.map(([href, label]) => h("a", { href, class: location.hash.startsWith(href) ? "active" : "" }, label)));
  who.replaceChildren(h("span", { class: "role", "data-role": s.role }, word(ROLE, s.role)), " ",
    s.unit ? h("span", { class: "unit" }, ctx.unitName(s.unit)) : "", " ",
    h("button", { class: "link", id: "sign-out", onclick: () => { signOut(); location.hash = "#/"; route(ctx); } }, "退出"));
  const hash = location.hash || "#/";
  const caseMatch = hash.match(/^#\/case\/([^/?]+)/);
  if (caseMatch) return mount(ctx, caseView(ctx, decodeURIComponent(caseMatch[1])));
  if (hash.startsWith("#/board") && can(s, "board")) return mount(ctx, boardView(ctx));
  if (hash.startsWith("#/unit") && can(s, "unit")) return mount(ctx, unitView(ctx));
  if (can(s, "map")) return mount(ctx, dispatchScreen(ctx, s));
  if (can(s, "unit")) return mount(ctx, unitView(ctx));
  main.replaceChildren(h("p", {}, "此角色在调度台上没有可查看的页面。"));
}

// The dispatcher's screen: the map beside the manual queue (the queue only for those who may assign).
function dispatchScreen(ctx, s) {
  const map = mapView(ctx);
  const parts = [map];
  if (can(s, "queue")) parts.push(queueView(ctx));
  return {
    root: h("div", { class: "dispatch-screen" }, parts.map((p) => p.root)),
    refresh: (event) => Promise.all(parts.map((p) => p.refresh(event))),
    watch: [...new Map(parts.flatMap((p) => p.watch).map((w) => [w.service + w.stream, w])).values()],
  };
}

function signInScreen(ctx) {
  pipeline.stop();
  nav.replaceChildren();
  who.replaceChildren();
  const cfg = ctx.config.sign_in;
  const out = h("div", { class: "result" });
  const form = [];
  if (cfg.oidc) {
    form.push(h("button", { class: "primary", id: "oidc-sign-in", onclick: () => oidcSignIn(cfg.oidc).catch((e) => out.replaceChildren(errorBox(e))) }, "统一身份认证登录"));
  }
  if (cfg.dev) {
    const role = h("select", { id: "role", name: "role", "aria-label": "角色" }, cfg.roles.map((r) => h("option", { value: r }, `${word(ROLE, r)} (${r})`)));
    const unit = h("select", { id: "unit", name: "unit", "aria-label": "单位" }, h("option", { value: "" }, "（无单位）"),
      ctx.units.map((u) => h("option", { value: u.code }, u.name)));
    form.push(h("form", { class: "dev-sign-in", onsubmit: async (ev) => {
      ev.preventDefault();
      try { await devSignIn(role.value, unit.value); location.hash = "#/"; route(ctx); } catch (e) { out.replaceChildren(errorBox(e)); }
    } }, h("p", { class: "note" }, "开发环境：选择角色和单位，由开发签发方签发令牌。"),
      h("label", {}, "角色 ", role), h("label", {}, "单位 ", unit), h("button", { class: "primary", type: "submit", id: "dev-sign-in" }, "登录")));
  }
  if (current) current.watches.forEach((w) => w.stop());
  current = null;
  document.getElementById("live").textContent = "";
  main.replaceChildren(h("section", { class: "sign-in panel" }, h("h2", {}, "登录"), form, out));
}

async function start() {
  try {
    const [config, geography, units] = await Promise.all([load("/config.json"), load("/geography.geojson"), load("/units.json")]);
    useServices(config.services);
    pipeline = new Pipeline(Object.keys(config.services), config.health_seconds);
    main.before(pipeline.root);
    document.title = `${config.county.name}综合调度中心`;
    document.getElementById("county").textContent = `${config.county.name}基层社会治理综合调度中心`;
    const unitNames = new Map(units.map((u) => [u.code, u.name]));
    const areaNames = new Map(geography.features.map((f) => [f.properties.code, f.properties.name]));
    const ctx = {
      config, geography, units,
      unitName: (c) => (c ? unitNames.get(c) || c : "—"),
      areaName: (c) => (c ? areaNames.get(c) || c : "—"),
    };
    if (config.sign_in.oidc) await oidcCallback(config.sign_in.oidc);
    window.addEventListener("hashchange", () => route(ctx));
    route(ctx);
  } catch (e) { main.replaceChildren(errorBox(e)); }
}

start();
