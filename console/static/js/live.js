// Live updates: a service's server-sent event stream read with fetch (EventSource cannot send the
// bearer header), resumed with Last-Event-ID after a drop; where a service offers no stream (404), the
// list is read again every few seconds instead. Each watcher calls `onChange` when something may have
// changed; the view then reads what it shows.

import { serviceUrl } from "./api.js";
import { session } from "./auth.js";

export class Watch {
  constructor({ service, stream, onChange, onMode = () => {}, pollSeconds = 1.5 }) {
    Object.assign(this, { service, stream, onChange, onMode, pollSeconds });
    this.lastId = null;
    this.stopped = false;
    this.mode = "connecting";
    this.abort = new AbortController();
  }

  start() { this.run(); return this; }

  // "connecting", "live" (the stream said it is ready) or "poll" (no stream: the list is read again).
  setMode(mode) { if (mode !== this.mode) { this.mode = mode; this.onMode(mode); } }

  // Events come in bursts (one case's steps, a reconnect's replay): one refresh for each burst.
  changed(event) {
    clearTimeout(this.pending);
    this.pending = setTimeout(() => this.onChange(event), 150);
  }

  stop() { this.stopped = true; this.abort.abort(); clearTimeout(this.timer); clearTimeout(this.pending); }

  async run() {
    let delay = 500;
    while (!this.stopped && this.stream) {
      try {
        const headers = { Authorization: `Bearer ${session().token}`, Accept: "text/event-stream" };
        if (this.lastId) headers["Last-Event-ID"] = this.lastId;
        const r = await fetch(serviceUrl(this.service, this.stream), { headers, signal: this.abort.signal });
        if ([403, 404, 405].includes(r.status)) break; // no stream here (or not for this role): poll
        if (!r.ok || !r.body) throw new Error(`HTTP ${r.status}`);
        delay = 500;
        await this.read(r.body);
        this.setMode("connecting");
      } catch (e) {
        if (this.stopped) return;
      }
      await new Promise((ok) => { this.timer = setTimeout(ok, delay); });
      delay = Math.min(delay * 2, 15000);
    }
    if (!this.stopped) this.poll();
  }

  async read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = { type: "message", data: [] };
        for (const line of block.split("\n")) {
          if (!line || line.startsWith(":")) continue; // heartbeat or comment
          const at = line.indexOf(":");
          const field = at < 0 ? line : line.slice(0, at);
          const val = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
          if (field === "id") this.lastId = val;
          else if (field === "event") event.type = val;
          else if (field === "data") event.data.push(val);
        }
        // the first message: `ready` on a resumable stream, the current figures on the board's
        if (event.data.length) this.setMode("live");
        if (event.data.length) this.changed({ type: event.type, data: event.data.join("\n") });
      }
    }
  }

  poll() {
    this.setMode("poll");
    const tick = async () => {
      if (this.stopped) return;
      try { await this.onChange(null); } catch (e) { /* the view shows its own errors */ }
      this.timer = setTimeout(tick, this.pollSeconds * 1000);
    };
    this.timer = setTimeout(tick, this.pollSeconds * 1000);
  }
}
