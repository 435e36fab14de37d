// Whether the five services keep up: each one's /readyz, read every `seconds` while someone is signed
// in. A service whose consumers are past its CONSUMER_LAG_WARNING (`behind`), that owes events to NATS
// (`degraded`), that cannot take requests or that does not answer is named in a banner under the header,
// so a dispatcher knows that new cases reach the map, the queue and the notices late, and how late.

import { serviceUrl } from "./api.js";
import { h } from "./dom.js";
import { SERVICE } from "./labels.js";

const fmt = new Intl.NumberFormat("zh-CN");

async function readiness(service) {
  try {
    const r = await fetch(serviceUrl(service, "/readyz"), { cache: "no-store" });
    return { service, answer: await r.json() };
  } catch {
    return { service, answer: null };
  }
}

// What a service's answer says a dispatcher should know, or null when it keeps up.
function trouble({ service, answer }) {
  const name = SERVICE[service] || service;
  if (!answer) return { service, kind: "down", text: `${name}：无法连接` };
  const waiting = Object.values(answer.consumer_lag || {}).reduce((a, n) => a + (n || 0), 0);
  if (answer.status === "not ready") return { service, kind: "down", text: `${name}：暂停受理` };
  if (answer.behind) {
    return { service, kind: "behind", text: `${name}：积压 ${fmt.format(waiting)} 条事件待处理（警戒线 ${fmt.format(answer.lag_warning)} 条）` };
  }
  if (answer.status === "degraded") {
    return { service, kind: "owed", text: `${name}：${fmt.format(answer.outbox?.owed_events || 0)} 条事件待发送到消息总线` };
  }
  return null;
}

export class Pipeline {
  constructor(services, seconds) {
    this.services = services;
    this.seconds = seconds;
    this.root = h("div", { id: "pipeline", role: "status", "aria-live": "polite", hidden: true });
    this.timer = null;
  }

  start() {
    if (this.timer) return;
    const round = async () => {
      const found = (await Promise.all(this.services.map(readiness))).map(trouble).filter(Boolean);
      this.show(found);
      this.timer = setTimeout(round, this.seconds * 1000);
    };
    this.timer = setTimeout(round, 0);
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    this.show([]);
  }

  show(found) {
    this.root.hidden = found.length === 0;
    this.root.dataset.kinds = [...new Set(found.map((f) => f.kind))].join(" ");
    this.root.replaceChildren(
      h("strong", {}, "处理延迟："),
      ...found.map((f) => h("span", { class: "lagging", "data-service": f.service, "data-kind": f.kind }, f.text)),
      h("span", { class: "note" }, "新事项上图、进入派单队列和发出通知会晚于平时。"),
    );
  }
}
