/**
 * Isolation case (d): many console pages with distinct filters, so as many
 * page groups, while domain events flow on the same tenant. Each page
 * stream is opened with a session cookie from the console's own login.
 */
import { waitAll } from "./bench-context.js";
import { withPath, type IsolationCase } from "./isolation-phase.js";
import type { PublishResult, SubscribeResult } from "./protocol.js";
import { consoleLogin } from "./server-admin.js";

/** (d) n console pages with distinct filters (n page groups), while domain events flow. */
export function consoleCase(n: number): IsolationCase {
  return {
    id: `console-${n}`,
    title: `(d) ${n} console page groups`,
    async setup(c) {
      const cookie = await consoleLogin(c.target);
      const topics = ["call", "agent", "channel", "workflow", "chat"];
      const subs = c.bench.subs;
      const r = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          subs[i % subs.length].call<SubscribeResult>(
            { op: "subscribe", group: "pages", target: withPath(c.target, `/t/demo/live?agent_q=agent-${i}&topic=${topics[i % topics.length]}`, { Cookie: cookie }), count: 1, concurrency: 1, timeoutMs: 10_000, measureLatency: false },
            30_000,
          ),
        ),
      );
      const opened = r.reduce((a, x) => a + x.opened, 0);
      if (opened < n) throw new Error(`only ${opened} of ${n} page streams opened: ${r.flatMap((x) => x.failures)[0]}`);
    },
    async load(c) {
      const count = Math.round(c.iso.consoleRate * c.iso.loadSeconds);
      const p = await c.bench.pubs[0].call<PublishResult>(
        { op: "publish", target: c.target.publish, mode: "steady", count, rate: c.iso.consoleRate, batch: 1, conns: 4, timeoutMs: c.iso.capSeconds * 1000, events: consoleEvents(count) },
        c.iso.capSeconds * 1000 + 30_000,
      );
      c.extra.consolePublishP99Ms = p.requestP99Ms;
      if (p.errors) c.notes.push(`console events: ${p.errors} errors (${p.errorSamples[0]})`);
      const d = await waitAll(c.bench, "pages", p.lastId, 5_000);
      c.extra.pageFrames = d.reduce((a, x) => a + x.delivered, 0);
      c.extra.pagesCut = d.reduce((a, x) => a + x.dropped, 0);
    },
    async after(c) {
      await Promise.all(c.bench.subs.map((w) => w.call({ op: "close", group: "pages" }, 10_000)));
    },
  };
}

/**
 * Calls starting and ending and agents changing status: every event re-renders a panel of
 * every page. Each call id is used once (a call that ended cannot end again), and a call ends
 * ten calls after it started: more than the publisher's connections can have in flight, so
 * its end can never overtake its start.
 */
function consoleEvents(count: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) {
    const agent = `agent-${i % 7}`;
    out.push(`{"type":"call.started","subject":"call-${i}","data":{"direction":"inbound","number":"+1415555${String(1000 + (i % 9000)).padStart(4, "0")}","agent":"${agent}"}}`);
    out.push(`{"type":"agent.status","subject":"${agent}","data":{"status":"${["busy", "available"][i % 2]}","name":"Agent ${i % 7}"}}`);
    if (i >= ENDS_AFTER) out.push(`{"type":"call.ended","subject":"call-${i - ENDS_AFTER}","data":{"duration_ms":${1000 * i},"status":"completed"}}`);
  }
  return out.slice(0, count);
}

const ENDS_AFTER = 10;
