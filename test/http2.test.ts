import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, type ClientHttp2Session } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ADMIN_KEY, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";
import { selfSignedCertificate, type TestCertificate } from "./support/tls.js";

const AUTH = { authorization: `Bearer ${ADMIN_KEY}` };
const STREAM = "/api/v1/tenants/demo/stream";
const MAX_BUFFER = 65_536;

/** One request over an HTTP/2 session; resolves with its status and body text. */
function request(session: ClientHttp2Session, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers = { ":method": method, ":path": path, ...AUTH, ...(body === undefined ? {} : { "content-type": "application/json" }) };
    const req = session.request(headers);
    let status = 0;
    let text = "";
    req.setEncoding("utf8");
    req.on("response", (h) => (status = Number(h[":status"])));
    req.on("data", (chunk: string) => (text += chunk));
    req.on("end", () => resolve({ status, text }));
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Publishes over the session; returns the ids. */
async function publishH2(session: ClientHttp2Session, body: unknown): Promise<number[]> {
  const res = await request(session, "POST", "/api/v1/tenants/demo/events", body);
  expect(res.status).toBe(201);
  return JSON.parse(res.text).ids;
}

async function metric(session: ClientHttp2Session, name: string): Promise<number> {
  const { text } = await request(session, "GET", "/metrics");
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  if (!m) throw new Error(`no ${name} in /metrics`);
  return Number(m[1]);
}

/** An HTTP/2 connection that trusts only the test's certificate; resolves once TLS and ALPN are done. */
function h2connect(url: string, cert: Buffer): Promise<ClientHttp2Session> {
  const session = connect(url, { ca: cert });
  return new Promise((resolve, reject) => {
    session.once("connect", () => resolve(session));
    session.once("error", reject);
  });
}

describe("HTTP/2 with SWITCHBOARD_TLS_CERT and SWITCHBOARD_TLS_KEY", () => {
  let dir: string;
  let cert: TestCertificate;
  let server: TestServer;
  let session: ClientHttp2Session;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "switchboard-tls-"));
    cert = selfSignedCertificate(dir);
    // A stream is slow when it has not drained for twice the heartbeat: 2 s here.
    server = await startTestServer({ ...cert.env, SSE_MAX_BUFFER_BYTES: String(MAX_BUFFER), SSE_HEARTBEAT_MS: "1000" });
    session = await h2connect(server.url, cert.cert);
  });
  afterAll(async () => {
    session?.destroy();
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves https and negotiates h2", () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(session.alpnProtocol).toBe("h2");
  });

  it("resumes a stream by Last-Event-ID with exactly what came after, then goes live, many streams sharing one connection", async () => {
    const ids = await publishH2(session, Array.from({ length: 10 }, (_, i) => ({ type: "h2.tick", data: { i } })));
    const from = ids[7];
    const resumed = await SseClient.openHttp2(session, STREAM, { ...AUTH, "last-event-id": String(from) });
    expect(resumed.status).toBe(200);
    expect(resumed.httpVersion).toBe("2.0");
    expect(resumed.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    await resumed.until((c) => c.ids().length >= 2);
    expect(resumed.ids()).toEqual(ids.slice(8));
    expect(resumed.retry).toBe(2000);

    // Ten more streams on the same connection, past any browser's six HTTP/1.1 connections per origin.
    const live = await Promise.all(Array.from({ length: 10 }, () => SseClient.openHttp2(session, STREAM, AUTH)));
    const [next] = await publishH2(session, { type: "h2.tick", data: { i: 10 } });
    for (const client of [resumed, ...live]) await client.until((c) => c.ids().includes(next));
    expect(resumed.ids()).toEqual([...ids.slice(8), next]);
    for (const client of live) expect(client.ids()).toEqual([next]);
    expect(resumed.messages.some((m) => m.event === "reset")).toBe(false);
    for (const client of [resumed, ...live]) client.close();
  });

  it("keeps HTTP/1.1 (written as pre-framed chunks) for clients that do not offer h2", async () => {
    const ids = await publishH2(session, [{ type: "h1.tick", data: { i: 0 } }, { type: "h1.tick", data: { i: 1 } }]);
    const client = await SseClient.open(server.url + STREAM, { ...AUTH, "last-event-id": String(ids[0]) }, { ca: cert.cert });
    expect(client.status).toBe(200);
    expect(client.httpVersion).toBe("1.1");
    expect(client.headers["transfer-encoding"]).toBe("chunked");
    await client.until((c) => c.ids().length >= 1);
    const [next] = await publishH2(session, { type: "h1.tick", data: { i: 2 } });
    await client.until((c) => c.ids().includes(next));
    expect(client.ids()).toEqual([ids[1], next]);
    expect(JSON.parse(client.messages.at(-1)!.data)).toMatchObject({ id: next, type: "h1.tick", data: { i: 2 } });
    client.close();
  });

  it("cuts a stream that stops reading alone: the other stream on its connection gets everything, and it resumes losing nothing", async () => {
    const reader = await SseClient.openHttp2(session, STREAM, AUTH);
    const stalled = await SseClient.openHttp2(session, STREAM, AUTH);
    stalled.pause();
    const cutsBefore = await metric(session, "switchboard_slow_consumer_disconnects_total");

    // Publish 30 KB events until the stalled stream has filled its flow-control window and then its
    // own bounded buffer, has not drained for the stall time, and is cut. The cap is only a guard.
    const pad = "x".repeat(30_000);
    const published: number[] = [];
    for (let n = 0; n < 3000; n++) {
      published.push(...(await publishH2(session, { type: "bulk.blob", data: { n, pad } })));
      if (n % 25 === 24 && (await metric(session, "switchboard_slow_consumer_disconnects_total")) > cutsBefore) break;
    }
    expect(await metric(session, "switchboard_slow_consumer_disconnects_total")).toBeGreaterThan(cutsBefore);

    // Same connection: the reader is still there and has every event, in order.
    expect(session.destroyed).toBe(false);
    await reader.until((c) => c.ids().length >= published.length, 30_000);
    expect(reader.ids()).toEqual(published);
    expect(reader.closed).toBe(false);

    // The stalled stream was reset: it reads what reached it, then finds its end.
    stalled.resume();
    await vi.waitFor(() => expect(stalled.closed).toBe(true), { timeout: 10_000 });
    expect(stalled.ended).toBe(false);
    const got = stalled.ids();
    expect(got.length).toBeLessThan(published.length);
    expect(got).toEqual(published.slice(0, got.length));
    const resumed = await SseClient.openHttp2(session, STREAM, { ...AUTH, "last-event-id": String(got.at(-1) ?? published[0] - 1) });
    await resumed.until((c) => c.ids().length >= published.length - got.length, 30_000);
    expect([...got, ...resumed.ids()]).toEqual(published);
    reader.close();
    resumed.close();
  });
});

describe("HTTP/2 on shutdown", () => {
  it("ends open streams cleanly and tells the connection to go away", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchboard-tls-"));
    try {
      const cert = selfSignedCertificate(dir);
      const server = await startTestServer(cert.env);
      const session = await h2connect(server.url, cert.cert);
      let goaway = false;
      session.on("goaway", () => (goaway = true));
      session.on("error", () => {});
      const stream = await SseClient.openHttp2(session, STREAM, AUTH);
      await stream.until((c) => c.retry !== undefined);
      await server.dispose();
      await vi.waitFor(() => expect(stream.closed).toBe(true));
      expect(stream.ended).toBe(true);
      expect(goaway).toBe(true);
      session.destroy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("TLS files that cannot be used", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "switchboard-tls-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("stop the start with a message naming the variable", async () => {
    const cert = selfSignedCertificate(dir);
    await expect(startTestServer({ SWITCHBOARD_TLS_CERT: join(dir, "missing.pem"), SWITCHBOARD_TLS_KEY: cert.keyPath }, dir)).rejects.toThrow(
      /cannot read SWITCHBOARD_TLS_CERT \(.*missing\.pem\): ENOENT/,
    );
    writeFileSync(join(dir, "garbage.pem"), "not a key");
    await expect(startTestServer({ SWITCHBOARD_TLS_CERT: cert.certPath, SWITCHBOARD_TLS_KEY: join(dir, "garbage.pem") }, dir)).rejects.toThrow(
      /SWITCHBOARD_TLS_CERT and SWITCHBOARD_TLS_KEY are not a usable PEM certificate and its key/,
    );
  });
});
