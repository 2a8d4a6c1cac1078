import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ChildServer, runToExit } from "./support/child-server.js";
import { untouched } from "./support/database.js";
import { walkHistory } from "./support/history-pages.js";
import { RawStream } from "./support/raw-stream.js";
import { ADMIN_KEY, api, databaseIn, publish } from "./support/server.js";

let dir: string;
/** The child's database: its SQLite file, or a PostgreSQL database of its own. */
let database: string;
const children: ChildServer[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "switchboard-shutdown-"));
  database = await databaseIn(dir);
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.dispose()));
  rmSync(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  return { PORT: "0", HOST: "127.0.0.1", DATABASE_URL: database, SWITCHBOARD_ADMIN_KEY: ADMIN_KEY, LOG_LEVEL: "info", ...extra };
}

async function start(extra: Record<string, string> = {}): Promise<ChildServer & { url: string }> {
  const child = await ChildServer.start(env(extra));
  children.push(child);
  return child;
}

describe("graceful shutdown on SIGTERM", () => {
  it("ends open streams cleanly, keeps every acked append, exits 0 and says it stopped", async () => {
    const server = await start();
    const auth = { authorization: `Bearer ${ADMIN_KEY}` };
    const tenantStream = RawStream.open(server.url, "/api/v1/tenants/demo/stream", auth);
    const adminStream = RawStream.open(server.url, "/api/v1/stream", auth);
    const first = await publish(server, "demo", { type: "shut.ready", data: {} });
    expect(first.status).toBe(201);
    for (const s of [tenantStream, adminStream]) {
      const deadline = Date.now() + 10_000;
      while (!s.ids().includes(first.body.ids[0])) {
        if (Date.now() > deadline) throw new Error("stream never went live");
        await new Promise((r) => setTimeout(r, 10));
      }
    }

    // Publishers keep appending while the server is told to stop.
    const acked: number[] = [];
    const outcomes: string[] = [];
    let stopping = false;
    const publisher = async (p: number) => {
      for (let r = 0; ; r++) {
        const size = r % 2 === 0 ? 1 : 10;
        const body = Array.from({ length: size }, (_, i) => ({ type: "shut.tick", data: { p, r, i, n: size } }));
        try {
          const res = await api(server, "/api/v1/tenants/demo/events", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
          });
          outcomes.push(String(res.status));
          const json = (await res.json()) as { ids?: number[] };
          if (res.status === 201) acked.push(...json.ids!);
          else if (res.status === 503) return; // refused: shutting down
          else throw new Error(`unexpected ${res.status}: ${JSON.stringify(json)}`);
        } catch (err) {
          if (!stopping) throw err;
          outcomes.push("network");
          return; // connection refused or closed: the server is gone
        }
        if (acked.length >= 300 && !stopping) {
          stopping = true;
          server.kill("SIGTERM");
        }
      }
    };
    await Promise.all([0, 1, 2, 3].map(publisher));
    const exit = await server.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(stopping).toBe(true);
    expect(outcomes.every((o) => o === "201" || o === "503" || o === "network")).toBe(true);

    // The streams saw the end of a chunked body (not a reset), with every event before it.
    for (const s of [tenantStream, adminStream]) {
      await s.closed;
      expect(s.closedBy).toBe("end");
      expect(s.body().complete).toBe(true);
      const ids = s.ids();
      expect(ids[0]).toBe(first.body.ids[0]);
      for (let k = 1; k < ids.length; k++) expect(ids[k]).toBeGreaterThan(ids[k - 1]);
    }

    const lines = server.logLines().map((l) => l.msg);
    expect(lines).toContain("switchboard shutting down");
    expect(lines.at(-1)).toBe("switchboard stopped");
    expect(server.stderr).toContain("SIGTERM");
    // SWITCHBOARD_ADMIN_KEY chose the admin key, so no key was printed.
    expect(server.stdout).toBe("");

    // Every acked event is in the log after a restart.
    const again = await start();
    const events = await walkHistory(again, "demo");
    const stored = new Set(events.map((e) => e.id));
    expect(acked.length).toBeGreaterThanOrEqual(300);
    expect(acked.filter((id) => !stored.has(id))).toEqual([]);
    // What streamed before the end is exactly the log up to the stream's last event: no gap, nothing extra.
    for (const s of [tenantStream, adminStream]) {
      const last = s.ids().at(-1)!;
      expect(s.ids()).toEqual(events.map((e) => e.id).filter((id) => id <= last));
    }
  });
});

describe("starting up", () => {
  it("refuses an invalid environment, naming each bad variable, before touching the database", async () => {
    const result = await runToExit(env({ PORT: "abc", SWITCHBOARD_DURABILITY: "maybe" }));
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    expect(result.stderr).toMatch(/invalid configuration/);
    expect(result.stderr).toMatch(/^\s*PORT: /m);
    expect(result.stderr).toMatch(/^\s*SWITCHBOARD_DURABILITY: .*"full"/m);
    expect(result.stderr).not.toMatch(/at .*\.ts:\d+/); // a message, not a stack trace
    expect(await untouched(database)).toBe(true);
  });

  it("on a port in use exits with a clear message; the first start that succeeds prints the generated key, once", async () => {
    const noKey = { SWITCHBOARD_ADMIN_KEY: "" };
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const failed = await runToExit(env({ ...noKey, PORT: String(port) }));
      expect(failed.code).not.toBe(0);
      expect(failed.code).not.toBeNull();
      expect(failed.stderr).toContain(`port ${port} is already in use`);
      expect(failed.stderr).not.toContain("switchboard listening");
      expect(failed.stdout).not.toMatch(/sb_/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }

    // The key was never shown by the failed start, so the first start that succeeds shows it, with a curl line.
    const server = await start(noKey);
    const secret = (await server.waitForStdout(/^\s+(sb_\S+)\s*$/m, 10_000))[1];
    await server.waitForStdout(/^\s*curl .*$/m);
    expect(server.stdout).toContain("shown only this once");
    const curl = server.stdout.split("\n").find((l) => l.trim().startsWith("curl "));
    expect(curl).toContain(`${server.url}/api/v1/tenants/demo/events`);
    expect(curl).toContain(`Authorization: Bearer ${secret}`);

    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await health.json()).toMatchObject({ status: "ok" });

    const ok = await publish(server, "demo", { type: "hello.world", data: { msg: "hi" } }, { key: secret });
    expect(ok.status).toBe(201);
    const wrong = await publish(server, "demo", { type: "hello.world", data: {} }, { key: ADMIN_KEY });
    expect(wrong.status).toBe(401);
    server.kill("SIGTERM");
    expect((await server.exited).code).toBe(0);

    // Second start: the key still works, and is not printed again (checked once the process
    // has exited, so everything it printed has been read).
    const again = await start(noKey);
    expect((await publish(again, "demo", { type: "hello.again", data: {} }, { key: secret })).status).toBe(201);
    again.kill("SIGTERM");
    expect((await again.exited).code).toBe(0);
    expect(again.stdout).not.toContain(secret);
    expect(again.stdout).toBe("");
  });
});
