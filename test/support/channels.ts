import { expect } from "vitest";
import { walkHistory, type EventJson } from "./history-pages.js";
import { ADMIN_KEY, api } from "./server.js";
import { SseClient } from "./sse-client.js";

/** JSON request with the admin key; returns status and parsed body. */
export async function call(server: { url: string }, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await api(server, path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** A worker's command stream, as a connector would hold it. */
export function commandStream(server: { url: string }, worker: string, options: { kinds?: string; lastEventId?: number } = {}): Promise<SseClient> {
  const query = options.kinds ? `?kinds=${options.kinds}` : "";
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_KEY}` };
  if (options.lastEventId !== undefined) headers["last-event-id"] = String(options.lastEventId);
  return SseClient.open(`${server.url}/api/v1/tenants/demo/workers/${encodeURIComponent(worker)}/commands${query}`, headers);
}

/** The events a stream delivered, parsed. */
export const received = (client: SseClient): EventJson[] => client.messages.filter((m) => m.event !== "reset").map((m) => JSON.parse(m.data));

/**
 * The channels table as the log says it should be, folded independently of
 * the server's projection from the channel.* events through `head`.
 */
export function foldChannels(events: EventJson[], head: number): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const e of events) {
    if (e.id > head || !e.type.startsWith("channel.")) continue;
    const id = e.subject!;
    const d = e.data as Record<string, any>;
    const prev = out.get(id);
    const stamp = { updated_at: e.ts, event_id: e.id };
    const worker = d.worker ?? prev?.worker ?? null;
    switch (e.type) {
      case "channel.connect_requested":
        out.set(id, {
          tenant: e.tenant,
          channel_id: id,
          platform: d.platform,
          name: d.name,
          settings: d.settings,
          state: "connecting",
          step: null,
          total: null,
          step_label: null,
          reason: null,
          worker: d.worker ?? null,
          created_at: prev?.created_at ?? e.ts,
          ...stamp,
        });
        break;
      case "channel.progress":
        out.set(id, { ...prev, step: d.step, total: d.total, step_label: d.label, worker, ...stamp });
        break;
      case "channel.connected":
        out.set(id, { ...prev, state: "connected", worker, ...stamp });
        break;
      case "channel.failed":
        out.set(id, { ...prev, state: "failed", reason: d.reason, worker, ...stamp });
        break;
      case "channel.disconnect_requested":
        out.set(id, { ...prev, ...stamp });
        break;
      case "channel.disconnected":
        out.set(id, { ...prev, state: "disconnected", reason: d.reason ?? null, worker, ...stamp });
        break;
      case "channel.removed":
        out.delete(id);
        break;
    }
  }
  return out;
}

/** Asserts the hub's status endpoint is exactly the log folded through the head it reports; returns it. */
export async function expectStateAgreesWithLog(server: { url: string }): Promise<{ head: number; channels: Record<string, any>[] }> {
  const state = await call(server, "GET", "/api/v1/tenants/demo/channels");
  expect(state.status).toBe(200);
  expect(typeof state.body.head).toBe("number");
  const history = await walkHistory(server, "demo", { types: "channel.*" });
  const expected = foldChannels(history, state.body.head);
  const actual = new Map<string, unknown>(state.body.channels.map((c: any) => [c.channel_id, c]));
  expect(actual).toEqual(expected);
  return state.body;
}
