import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ADMIN_KEY, publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

/**
 * Function objects (closures) alive in this process whose code is in src/,
 * by file and function name, from a heap snapshot (taken after a full
 * collection, so only what is retained counts).
 */
function ourClosures(dir: string, label: string): Map<string, number> {
  const snapshot = JSON.parse(readFileSync(v8.writeHeapSnapshot(join(dir, `${label}.heapsnapshot`)), "utf8")) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
    nodes: number[];
    edges: number[];
    strings: string[];
  };
  const { meta } = snapshot.snapshot;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const [typeAt, nameAt, edgesAt] = ["type", "name", "edge_count"].map((f) => meta.node_fields.indexOf(f));
  const [edgeTypeAt, edgeNameAt, toAt] = ["type", "name_or_index", "to_node"].map((f) => meta.edge_fields.indexOf(f));
  const { nodes, edges, strings } = snapshot;
  const count = nodes.length / nf;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    firstEdge[i] = e;
    e += nodes[i * nf + edgesAt] * ef;
  }
  firstEdge[count] = edges.length;
  const internal = (node: number, name: string): number => {
    for (let e = firstEdge[node]; e < firstEdge[node + 1]; e += ef) {
      if (meta.edge_types[0][edges[e + edgeTypeAt]] === "internal" && strings[edges[e + edgeNameAt]] === name) return edges[e + toAt] / nf;
    }
    return -1;
  };
  const out = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    if (meta.node_types[0][nodes[i * nf + typeAt]] !== "closure") continue;
    // closure → its SharedFunctionInfo → the script, whose name is the file.
    const shared = internal(i, "shared");
    const script = shared < 0 ? -1 : internal(shared, "script_or_debug_info");
    const file = script < 0 ? "" : strings[nodes[script * nf + nameAt]];
    const at = file.indexOf(SRC);
    if (at < 0) continue;
    const name = `${file.slice(at + SRC.length)} ${strings[nodes[i * nf + nameAt]] || "(anonymous)"}`;
    out.set(name, (out.get(name) ?? 0) + 1);
  }
  return out;
}

/**
 * Issue 13: a server holds thousands of idle streams, so what one holds is
 * what its memory is made of. Each stream used to keep some eighteen
 * closures of its own (the sink's methods, the read-ahead's, the route's
 * close and catch-up handlers, the access watch's, the hub's); now the
 * stream is a few objects with their methods on prototypes.
 */
describe("an idle stream", () => {
  const STREAMS = 200;
  let server: TestServer;
  let dir: string;
  const auth = { authorization: `Bearer ${ADMIN_KEY}` };
  beforeAll(async () => {
    server = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), "switchboard-heap-"));
  });
  afterAll(async () => {
    await server.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Streams the server holds, from /metrics. */
  async function openStreams(): Promise<number> {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return [...text.matchAll(/^switchboard_streams_open(?:\{[^}]*\})? (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  }

  async function openLive(n: number): Promise<SseClient[]> {
    const clients = await Promise.all(Array.from({ length: n }, () => SseClient.open(`${server.url}/api/v1/tenants/demo/stream`, auth)));
    for (const c of clients) expect(c.status).toBe(200);
    // Every stream is live (past its catch-up) once each has an event published after it opened.
    const { body } = await publish(server, "demo", { type: "idle.check", data: {} });
    await vi.waitFor(() => expect(clients.every((c) => c.ids().includes(body.ids[0]))).toBe(true), { timeout: 30_000 });
    return clients;
  }

  it("keeps at most two closures of our code: the response's close handler and the socket's write callback", async () => {
    // Lazily made things (route code, groups, the first stream's allocations) are in the baseline.
    for (const c of await openLive(5)) c.close();
    await vi.waitFor(async () => expect(await openStreams()).toBe(0), { timeout: 10_000 });
    const before = ourClosures(dir, "before");

    const clients = await openLive(STREAMS);
    const after = ourClosures(dir, "after");
    const perStream = new Map<string, number>();
    for (const [name, n] of after) {
      const added = (n - (before.get(name) ?? 0)) / STREAMS;
      if (added >= 0.5) perStream.set(name, Math.round(added));
    }
    const total = [...perStream.values()].reduce((a, b) => a + b, 0);
    // At least the close handler: the snapshot was read right (files and closures found).
    expect(total, JSON.stringify(Object.fromEntries(perStream))).toBeGreaterThanOrEqual(1);
    expect(total, JSON.stringify(Object.fromEntries(perStream))).toBeLessThanOrEqual(2);
    for (const c of clients) c.close();
    // Two heap snapshots of this whole process (vitest and the server), each written and parsed: about
    // 20 s alone, more than a minute on a loaded machine.
  }, 300_000);
});
