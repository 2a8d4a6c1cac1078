import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../src/config.js";
import { RETELL_MAX_BODY_BYTES, verifyRetellSignature } from "../src/domain/calls/retell.js";
import { createLogger } from "../src/logger.js";
import { startServer, type RunningServer } from "../src/server.js";
import { cli, onPostgres, query, type ServerDb } from "./support/database.js";
import { logHead, walkHistory } from "./support/history-pages.js";
import { RawStream } from "./support/raw-stream.js";
import { ADMIN_KEY, api, databaseIn } from "./support/server.js";
import { writeAccess } from "./support/tenants.js";

const SECRET = "key_retell_webhook_badge_0123456789";
const FIVE_MINUTES = 5 * 60_000;

/** Signed the way Retell signs, written out here rather than taken from the code under test. */
function sign(body: string | Buffer, secret = SECRET, timestamp = Date.now()): string {
  const digest = createHmac("sha256", secret).update(Buffer.concat([Buffer.from(body), Buffer.from(String(timestamp))])).digest("hex");
  return `v=${timestamp},d=${digest}`;
}

/** A Retell call object with the fields a real webhook carries (and some we ignore). */
function retellCall(fields: Record<string, unknown>): Record<string, unknown> {
  return {
    call_type: "phone_call",
    from_number: "+14155550142",
    to_number: "+12125550100",
    direction: "inbound",
    agent_id: "agent_6f2b1c",
    agent_version: 3,
    call_status: "ongoing",
    metadata: { client: "acme-dental" },
    retell_llm_dynamic_variables: { customer_name: "Ada" },
    start_timestamp: 1_714_608_475_945,
    transcript: "Agent: Hi, how can I help?\nUser: I'd like to book.",
    opt_out_sensitive_data_storage: false,
    ...fields,
  };
}

describe("Retell webhook", () => {
  describe("signature verification (pure)", () => {
    const body = Buffer.from(JSON.stringify({ event: "call_started", call: { call_id: "c1" } }));
    const now = 1_750_000_000_000;

    it("accepts the signature Retell computes over the raw body and timestamp", () => {
      expect(verifyRetellSignature(body, sign(body, SECRET, now), SECRET, now)).toEqual({ ok: true });
      // Anywhere within five minutes either way.
      expect(verifyRetellSignature(body, sign(body, SECRET, now - FIVE_MINUTES), SECRET, now).ok).toBe(true);
      expect(verifyRetellSignature(body, sign(body, SECRET, now + FIVE_MINUTES), SECRET, now).ok).toBe(true);
      expect(verifyRetellSignature(body, ` ${sign(body, SECRET, now)} `, SECRET, now).ok).toBe(true);
    });

    it("refuses a wrong secret, a changed body, a changed timestamp, or re-serialized JSON", () => {
      const mismatch = expect.objectContaining({ ok: false, reason: expect.stringMatching(/does not match/) });
      expect(verifyRetellSignature(body, sign(body, "another-secret", now), SECRET, now)).toEqual(mismatch);
      expect(verifyRetellSignature(Buffer.from(body.toString().replace("c1", "c2")), sign(body, SECRET, now), SECRET, now)).toEqual(mismatch);
      const [, digest] = sign(body, SECRET, now).split(",");
      expect(verifyRetellSignature(body, `v=${now + 1},${digest}`, SECRET, now)).toEqual(mismatch);
      // Spacing is part of what was signed: parsing and re-serializing would change it.
      const spaced = Buffer.from('{ "event": "call_started", "call": { "call_id": "c1" } }');
      const signature = sign(spaced, SECRET, now);
      expect(verifyRetellSignature(spaced, signature, SECRET, now).ok).toBe(true);
      expect(verifyRetellSignature(Buffer.from(JSON.stringify(JSON.parse(spaced.toString()))), signature, SECRET, now)).toEqual(mismatch);
    });

    it("refuses a stale timestamp, either way", () => {
      const stale = expect.objectContaining({ ok: false, reason: expect.stringMatching(/stale/) });
      expect(verifyRetellSignature(body, sign(body, SECRET, now - FIVE_MINUTES - 1), SECRET, now)).toEqual(stale);
      expect(verifyRetellSignature(body, sign(body, SECRET, now + FIVE_MINUTES + 1), SECRET, now)).toEqual(stale);
    });

    it("says what is wrong with a missing or malformed header", () => {
      expect(verifyRetellSignature(body, undefined, SECRET, now)).toEqual({ ok: false, reason: expect.stringMatching(/missing X-Retell-Signature/) });
      expect(verifyRetellSignature(body, "", SECRET, now)).toEqual({ ok: false, reason: expect.stringMatching(/missing/) });
      const good = sign(body, SECRET, now);
      const digest = good.split(",d=")[1];
      for (const header of ["garbage", `v=${now}`, `d=${digest}`, `v=abc,d=${digest}`, `v=${now},d=${digest.slice(2)}`, `v=${now},d=${digest}00`, `v=${now},d=${"z".repeat(64)}`, `${good},x=1`]) {
        expect(verifyRetellSignature(body, header, SECRET, now), header).toEqual({ ok: false, reason: expect.stringMatching(/malformed/) });
      }
    });
  });

  describe("over HTTP", () => {
    let server: RunningServer;
    let dir: string;
    /** The server's database, for the CLI and for reading stored rows. */
    let database: ServerDb;
    const logLines: string[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "switchboard-retell-"));
      const config = loadConfig({ PORT: "0", HOST: "127.0.0.1", DATABASE_URL: await databaseIn(dir), SWITCHBOARD_ADMIN_KEY: ADMIN_KEY, LOG_LEVEL: "debug" });
      database = { dbPath: join(dir, "switchboard.db"), config };
      // Every log line is kept: the full number must not be in any of them.
      server = await startServer(config, createLogger("debug", (line) => logLines.push(line)));
      expect(await cli(database, "tenants", "create", "quiet")).toMatch(/created tenant quiet/);
      const out = await cli(database, "tenants", "set-retell-secret", "demo", SECRET);
      expect(out).toMatch(/set the Retell secret of tenant demo/);
      expect(out).not.toContain(SECRET);
      await untilRetell("demo", true);
    });
    afterAll(async () => {
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const webhook = async (body: string, headers: Record<string, string> = {}, tenant = "demo") => {
      const res = await fetch(`${server.url}/api/v1/tenants/${tenant}/webhooks/retell`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      });
      const text = await res.text();
      return { status: res.status, text, body: text ? JSON.parse(text) : null, headers: res.headers };
    };
    /**
     * Until the server takes `tenant`'s webhooks (an unsigned one is then refused as such, 401) or refuses them
     * all (403) as `configured` says: at once on SQLite, whose file the CLI wrote; a PostgreSQL node applies a
     * change of the tenants when it is announced.
     */
    const untilRetell = (tenant: string, configured: boolean) =>
      vi.waitFor(
        async () => {
          const { status } = await webhook("{}", {}, tenant);
          expect(status).toBe(configured ? 401 : 403);
        },
        { timeout: 30_000, interval: 20 },
      );
    /** A payload as Retell sends it: compact JSON, signed now. */
    const deliver = (event: string, call: Record<string, unknown>, options: { secret?: string; timestamp?: number } = {}) => {
      const body = JSON.stringify({ event, call });
      return webhook(body, { "x-retell-signature": sign(body, options.secret, options.timestamp) });
    };
    const getJson = async (path: string) => (await api(server, path)).json() as Promise<any>;
    const eventsOf = async (callId: string) => (await walkHistory(server, "demo", { subject: callId })).filter((e) => e.type.startsWith("call."));

    it("accepts a call_started signed as Retell signs it, and shows the call with its number masked", async () => {
      const res = await deliver("call_started", retellCall({ call_id: "call_a1" }));
      expect(res.status, res.text).toBe(200);
      expect(res.body.ids).toEqual([expect.any(Number)]);
      const [event] = await eventsOf("call_a1");
      expect(event).toMatchObject({
        id: res.body.ids[0],
        type: "call.started",
        subject: "call_a1",
        data: { direction: "inbound", number: "•••0142", agent: "agent_6f2b1c", client: "acme-dental" },
      });
      const { active } = await getJson("/api/v1/tenants/demo/calls");
      expect(active.find((c: any) => c.call_id === "call_a1")).toMatchObject({ status: "active", direction: "inbound", number: "•••0142", agent: "agent_6f2b1c", client: "acme-dental" });
    });

    it("takes the callee's number for an outbound call, and none for a web call", async () => {
      expect((await deliver("call_started", retellCall({ call_id: "call_out", direction: "outbound", from_number: "+12125550100", to_number: "+13105550177" }))).status).toBe(200);
      expect((await eventsOf("call_out"))[0].data).toMatchObject({ direction: "outbound", number: "•••0177" });

      const web = retellCall({ call_id: "call_web", call_type: "web_call", metadata: { client: 42 } });
      delete web.from_number;
      delete web.to_number;
      delete web.direction;
      expect((await deliver("call_started", web)).status).toBe(200);
      // No number to mask: the placeholder "web" stays readable; a non-string client is dropped.
      expect((await eventsOf("call_web"))[0].data).toEqual({ direction: "inbound", number: "web", agent: "agent_6f2b1c" });
    });

    it("runs a call from call_started through call_ended to call_analyzed", async () => {
      const call = retellCall({ call_id: "call_life" });
      const started = await deliver("call_started", call);
      expect(started.status).toBe(200);

      const ended = await deliver("call_ended", {
        ...call,
        call_status: "ended",
        end_timestamp: 1_714_608_517_945,
        duration_ms: 42_000,
        disconnection_reason: "user_hangup",
        transcript_object: [{ role: "agent", content: "Hi", words: [{ word: "Hi", start: 0.1, end: 0.3 }] }],
      });
      expect(ended.status).toBe(200);
      expect(ended.body.ids).toHaveLength(1);
      let state = await getJson("/api/v1/tenants/demo/calls");
      expect(state.active.map((c: any) => c.call_id)).not.toContain("call_life");
      expect(state.recent.find((c: any) => c.call_id === "call_life")).toMatchObject({ status: "ended", duration_ms: 42_000, end_status: "user_hangup", number: "•••0142" });

      const analyzed = await deliver("call_analyzed", {
        ...call,
        call_status: "ended",
        end_timestamp: 1_714_608_517_945,
        duration_ms: 42_000,
        disconnection_reason: "user_hangup",
        call_analysis: { call_summary: "The caller booked a cleaning for Tuesday.", user_sentiment: "Positive", call_successful: true, in_voicemail: false, custom_analysis_data: {} },
      });
      expect(analyzed.status).toBe(200);
      // The end it carries is call_ended's own (same key): nothing new for it, only the analysis.
      expect(analyzed.body.ids).toEqual([ended.body.ids[0], expect.any(Number)]);
      expect((await eventsOf("call_life")).map((e) => [e.type, e.data])).toEqual([
        ["call.started", { direction: "inbound", number: "•••0142", agent: "agent_6f2b1c", client: "acme-dental" }],
        ["call.ended", { duration_ms: 42_000, status: "user_hangup", direction: "inbound", number: "•••0142", agent: "agent_6f2b1c", client: "acme-dental" }],
        ["call.analyzed", { summary: "The caller booked a cleaning for Tuesday.", sentiment: "Positive", successful: true }],
      ]);
      state = await getJson("/api/v1/tenants/demo/calls/call_life");
      expect(state.call).toMatchObject({ status: "ended", summary: "The caller booked a cleaning for Tuesday.", sentiment: "Positive", event_id: analyzed.body.ids[1] });
    });

    it("cuts a summary longer than the calls schema takes instead of refusing it (Retell would retry in vain)", async () => {
      const call = retellCall({ call_id: "call_long", duration_ms: 1000 });
      const summary = "a" + "😀".repeat(2500); // 5001 UTF-16 units; a cut at 4000 would split the last emoji
      const res = await deliver("call_analyzed", { ...call, call_analysis: { call_summary: summary } });
      expect(res.status, res.text).toBe(200);
      const stored = (await eventsOf("call_long")).at(-1)!.data.summary as string;
      expect(stored).toBe("a" + "😀".repeat(1999));
    });

    it("takes the duration from the timestamps and the status from call_status when Retell leaves them out", async () => {
      const call = retellCall({ call_id: "call_times", start_timestamp: 1_000_000, end_timestamp: 1_095_500, call_status: "error" });
      expect((await deliver("call_started", call)).status).toBe(200);
      expect((await deliver("call_ended", call)).status).toBe(200);
      expect((await eventsOf("call_times"))[1].data).toMatchObject({ duration_ms: 95_500, status: "error" });
    });

    it("keeps a call whose call_started never came (Retell sends none when the dial fails)", async () => {
      const res = await deliver("call_ended", retellCall({ call_id: "call_nodial", direction: "outbound", to_number: "+13105550188", call_status: "error", disconnection_reason: "dial_failed", duration_ms: 0 }));
      expect(res.status).toBe(200);
      const { recent } = await getJson("/api/v1/tenants/demo/calls");
      expect(recent.find((c: any) => c.call_id === "call_nodial")).toMatchObject({ direction: "outbound", number: "•••0188", end_status: "dial_failed", agent: "agent_6f2b1c" });
      // A call_started that arrives after the end (a retry) is acknowledged and changes nothing: retrying could never apply it.
      const before = await logHead(server);
      const late = await deliver("call_started", retellCall({ call_id: "call_nodial" }));
      expect(late.status).toBe(204);
      expect(await logHead(server)).toBe(before);
    });

    it("ends a call from call_analyzed when its call_ended was lost, and the late call_ended appends nothing", async () => {
      const call = retellCall({ call_id: "call_lostend", duration_ms: 8_000, disconnection_reason: "agent_hangup", call_status: "ended" });
      expect((await deliver("call_started", call)).status).toBe(200);
      const analyzed = await deliver("call_analyzed", { ...call, call_analysis: { call_summary: "Wrong number.", user_sentiment: "Neutral", call_successful: false } });
      expect(analyzed.status).toBe(200);
      expect(analyzed.body.ids).toHaveLength(2);
      expect((await getJson("/api/v1/tenants/demo/calls/call_lostend")).call).toMatchObject({ status: "ended", duration_ms: 8_000, end_status: "agent_hangup", summary: "Wrong number." });

      const lateEnd = await deliver("call_ended", call);
      expect(lateEnd.status).toBe(200);
      expect(lateEnd.body.ids).toEqual([analyzed.body.ids[0]]);
      expect(lateEnd.headers.get("idempotent-replayed")).toBe("true");
      expect((await eventsOf("call_lostend")).map((e) => e.type)).toEqual(["call.started", "call.ended", "call.analyzed"]);
    });

    it("appends nothing new for a redelivered webhook and answers the same ids", async () => {
      const call = retellCall({ call_id: "call_retry" });
      const first = await deliver("call_started", call);
      const head = await logHead(server);
      // Retell's retry: the same body, signed again later.
      const again = await deliver("call_started", call, { timestamp: Date.now() + 1000 });
      expect(again.status).toBe(200);
      expect(again.body.ids).toEqual(first.body.ids);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      const ended = await deliver("call_ended", { ...call, duration_ms: 5_000 });
      const endedAgain = await deliver("call_ended", { ...call, duration_ms: 5_000 });
      expect(endedAgain.body.ids).toEqual(ended.body.ids);
      const analyzed = await deliver("call_analyzed", { ...call, duration_ms: 5_000, call_analysis: { call_summary: "Hi." } });
      const analyzedAgain = await deliver("call_analyzed", { ...call, duration_ms: 5_000, call_analysis: { call_summary: "Hi." } });
      expect(analyzedAgain.body.ids).toEqual(analyzed.body.ids);
      expect(await logHead(server)).toBe(head + 2);
      expect((await eventsOf("call_retry")).map((e) => e.type)).toEqual(["call.started", "call.ended", "call.analyzed"]);
      // The keys name the Retell event and call id, nothing else.
      const keys = (await query<{ key: string }>(database, "SELECT key FROM events WHERE subject = 'call_retry' ORDER BY id")).map((r) => r.key);
      expect(keys).toEqual(["retell:call_started:call_retry", "retell:call_ended:call_retry", "retell:call_analyzed:call_retry"]);
    });

    it("takes an analysis whose call differs from the call_ended sent before, and acknowledges a changed redelivery", async () => {
      const call = retellCall({ call_id: "call_drift" });
      await deliver("call_started", call);
      const ended = await deliver("call_ended", { ...call, duration_ms: 5_000, disconnection_reason: "user_hangup" });
      expect(ended.status).toBe(200);
      // Retell's analysis carries the call as it knows it by then: the end it implies differs, and it is no reuse of call_ended's key.
      const analyzed = await deliver("call_analyzed", { ...call, duration_ms: 5_040, call_status: "ended", call_analysis: { call_summary: "Booked." } });
      expect(analyzed.status, analyzed.text).toBe(200);
      expect(analyzed.body.ids).toEqual([ended.body.ids[0], expect.any(Number)]);
      const head = await logHead(server);
      // A call_started redelivered with other content can never be appended: acknowledged (Retell would retry in vain), not appended.
      const changed = await deliver("call_started", { ...call, agent_id: "agent_other" });
      expect(changed.status).toBe(204);
      expect(await logHead(server)).toBe(head);
      expect((await eventsOf("call_drift")).map((e) => [e.type, e.data.duration_ms ?? e.data.agent])).toEqual([
        ["call.started", "agent_6f2b1c"],
        ["call.ended", 5_000],
        ["call.analyzed", undefined],
      ]);
    });

    it("refuses a bad, foreign, stale, missing or malformed signature with 401 and appends nothing", async () => {
      const body = JSON.stringify({ event: "call_started", call: retellCall({ call_id: "call_forged" }) });
      const good = sign(body);
      const [v, d] = good.split(",");
      const cases: [Record<string, string>, RegExp][] = [
        [{ "x-retell-signature": `${v},d=${flipDigit(d.slice(2))}` }, /does not match/],
        [{ "x-retell-signature": sign(body, "not-the-tenant-secret") }, /does not match/],
        [{ "x-retell-signature": sign(body.replace("call_forged", "call_forgee")) }, /does not match/],
        [{ "x-retell-signature": sign(body, SECRET, Date.now() - FIVE_MINUTES - 60_000) }, /stale/],
        [{ "x-retell-signature": sign(body, SECRET, Date.now() + FIVE_MINUTES + 60_000) }, /stale/],
        [{}, /missing X-Retell-Signature/],
        [{ "x-retell-signature": "sha256=abcdef" }, /malformed/],
        [{ "x-retell-signature": `${v},d=${d.slice(2, 20)}` }, /malformed/],
        // An API key is no substitute for the signature.
        [{ authorization: `Bearer ${ADMIN_KEY}` }, /missing/],
      ];
      const before = await logHead(server);
      for (const [headers, reason] of cases) {
        const res = await webhook(body, headers);
        expect(res.status, JSON.stringify(headers)).toBe(401);
        expect(res.body.error).toBe("invalid_signature");
        expect(res.body.message).toMatch(reason);
      }
      expect(await logHead(server)).toBe(before);
      expect(await eventsOf("call_forged")).toEqual([]);
      // And the same body, correctly signed, is accepted.
      expect((await webhook(body, { "x-retell-signature": good })).status).toBe(200);
    });

    it("refuses webhooks for a tenant without a Retell secret (403) or an unknown tenant (404)", async () => {
      const body = JSON.stringify({ event: "call_started", call: retellCall({ call_id: "call_quiet" }) });
      const quiet = await webhook(body, { "x-retell-signature": sign(body) }, "quiet");
      expect(quiet.status).toBe(403);
      expect(quiet.body.error).toBe("retell_not_configured");
      expect(quiet.body.message).toContain("tenants set-retell-secret quiet");
      const unknown = await webhook(body, { "x-retell-signature": sign(body) }, "nobody");
      expect(unknown.status).toBe(404);
      expect((await walkHistory(server, "quiet")).length).toBe(0);
    });

    it("refuses malformed JSON and payloads that are not Retell's with 400, and bodies over the limit with 413", async () => {
      const before = await logHead(server);
      const bad: [string, RegExp][] = [
        ['{"event": "call_started", "call": {"call_id": "call_json", "from_number": "+14155550142"', /not valid UTF-8 JSON/],
        ["[1, 2]", /"event"/],
        [JSON.stringify({ event: "call_started" }), /"call" object/],
        [JSON.stringify({ event: "call_ended", call: { from_number: "+14155550142" } }), /call_id/],
        [JSON.stringify({ event: "call_started", call: { call_id: "x".repeat(171), from_number: "+14155550142" } }), /call_id/],
      ];
      for (const [body, reason] of bad) {
        const res = await webhook(body, { "x-retell-signature": sign(body) });
        expect(res.status, body.slice(0, 60)).toBe(400);
        expect(res.body.message).toMatch(reason);
        // Error messages never quote the payload: it holds phone numbers.
        expect(res.text).not.toContain("4155550142");
      }
      const huge = JSON.stringify({ event: "call_ended", call: retellCall({ call_id: "call_huge", transcript: "x".repeat(RETELL_MAX_BODY_BYTES) }) });
      const res = await webhook(huge, { "x-retell-signature": sign(huge) });
      expect(res.status).toBe(413);
      expect(res.body.error).toBe("body_too_large");
      expect(await logHead(server)).toBe(before);
    });

    it("acknowledges the event types it does not map with 204 and appends nothing", async () => {
      const before = await logHead(server);
      const call = retellCall({ call_id: "call_a1" });
      for (const event of ["transcript_updated", "transfer_started", "transfer_bridged", "transfer_cancelled", "transfer_ended", "call_something_new"]) {
        const res = await deliver(event, call);
        expect(res.status, event).toBe(204);
        expect(res.text).toBe("");
      }
      const chat = JSON.stringify({ event: "chat_started", chat: { chat_id: "chat_1", agent_id: "agent_6f2b1c" } });
      expect((await webhook(chat, { "x-retell-signature": sign(chat) })).status).toBe(204);
      // Still signed: an unsigned event of an ignored type is refused like any other.
      expect((await webhook(chat, {})).status).toBe(401);
      expect(await logHead(server)).toBe(before);
    });

    it("never stores, streams or logs the full number", async () => {
      const full = "+14155550142";
      const stream = RawStream.open(server.url, "/api/v1/tenants/demo/stream?after=0", { authorization: `Bearer ${ADMIN_KEY}` });
      try {
        const call = retellCall({ call_id: "call_secret", from_number: full, to_number: "+12125550100" });
        expect((await deliver("call_started", call)).status).toBe(200);
        expect((await deliver("call_ended", { ...call, duration_ms: 1000 })).status).toBe(200);
        expect((await deliver("call_analyzed", { ...call, duration_ms: 1000, call_analysis: { call_summary: "ok" } })).status).toBe(200);
        const head = await logHead(server);
        await waitFor(() => stream.ids().includes(head));

        const history = await (await api(server, "/api/v1/tenants/demo/events?limit=1000")).text();
        const state = await (await api(server, "/api/v1/tenants/demo/calls")).text();
        const admin = await (await api(server, "/api/v1/calls")).text();
        const detail = await (await api(server, "/api/v1/tenants/demo/calls/call_secret")).text();
        const rows = JSON.stringify(await query(database, "SELECT * FROM events")) + JSON.stringify(await query(database, "SELECT * FROM calls"));
        // The SQLite file's bytes, free pages and WAL included (PostgreSQL's files are its own: the rows above stand for them).
        const { dbPath } = database;
        const files = onPostgres(database) ? [] : [dbPath, `${dbPath}-wal`].filter(existsSync).map((f) => readFileSync(f).toString("latin1"));
        const wire = Buffer.from(stream.raw, "latin1").toString("utf8");
        expect(history).toContain("•••0142");
        expect(wire).toContain("•••0142");
        // Every number this file's webhooks carried, including those of refused requests.
        for (const text of [history, state, admin, detail, rows, wire, ...files, logLines.join("\n")]) {
          for (const digits of ["4155550142", "2125550100", "3105550177", "3105550188"]) expect(text).not.toContain(digits);
        }
        expect(logLines.length).toBeGreaterThan(0);
      } finally {
        stream.destroy();
      }
    });

    it("sets and clears the secret from the CLI", async () => {
      expect(await cli(database, "--help")).toContain("tenants set-retell-secret <slug> <secret>");
      const body = JSON.stringify({ event: "call_started", call: retellCall({ call_id: "call_cli" }) });
      expect((await webhook(body, { "x-retell-signature": sign(body, "quiet-secret-1") }, "quiet")).status).toBe(403);

      expect(await cli(database, "tenants", "set-retell-secret", "quiet", "quiet-secret-1")).toMatch(/set the Retell secret of tenant quiet/);
      expect(await cli(database, "tenants", "list")).toMatch(/quiet\s.*secret set/);
      await untilRetell("quiet", true);
      expect((await webhook(body, { "x-retell-signature": sign(body, "quiet-secret-1") }, "quiet")).status).toBe(200);
      // demo's secret does not open quiet's webhook.
      expect((await webhook(body, { "x-retell-signature": sign(body, SECRET) }, "quiet")).status).toBe(401);

      expect(await cli(database, "tenants", "set-retell-secret", "quiet", "--clear")).toMatch(/cleared/);
      await untilRetell("quiet", false);
      expect((await webhook(body, { "x-retell-signature": sign(body, "quiet-secret-1") }, "quiet")).status).toBe(403);

      await expect(cli(database, "tenants", "set-retell-secret", "quiet")).rejects.toThrow(/exactly one of <secret> or --clear/);
      await expect(cli(database, "tenants", "set-retell-secret", "quiet", "s", "--clear")).rejects.toThrow(/exactly one/);
      await expect(cli(database, "tenants", "set-retell-secret", "nobody", "s")).rejects.toThrow(/no tenant "nobody"/);
    });

    it("binds a secret to one tenant: another tenant cannot take it, and a secret shared from before opens neither", async () => {
      expect(await cli(database, "tenants", "create", "twin")).toMatch(/created tenant twin/);
      await expect(cli(database, "tenants", "set-retell-secret", "twin", SECRET)).rejects.toThrow(
        /tenant "demo" already has this Retell secret, and a secret signs webhooks for one tenant only/,
      );
      expect(await cli(database, "tenants", "list")).not.toMatch(/twin\s.*secret set/);
      // Setting a tenant's own secret again is no conflict.
      expect(await cli(database, "tenants", "set-retell-secret", "demo", SECRET)).toMatch(/set the Retell secret of tenant demo/);
      const body = JSON.stringify({ event: "call_started", call: retellCall({ call_id: "call_twin" }) });
      const twin = await webhook(body, { "x-retell-signature": sign(body) }, "twin");
      expect(twin.status).toBe(403);
      expect(twin.body.error).toBe("retell_not_configured");

      // A database from before the rule, where two tenants share the secret: both tenants' webhooks are refused.
      await writeAccess(database, "UPDATE tenants SET retell_secret = ? WHERE slug = 'twin'", SECRET);
      await untilRetell("demo", false);
      const head = await logHead(server);
      for (const tenant of ["demo", "twin"]) {
        const res = await webhook(body, { "x-retell-signature": sign(body) }, tenant);
        expect(res.status, tenant).toBe(403);
        expect(res.body.error).toBe("retell_not_configured");
        expect(res.body.message).toBe(
          `tenant "${tenant}" shares its Retell secret with another tenant, so its Retell webhooks are refused (either could have signed them); set a secret of its own with: npm run switchboard -- tenants set-retell-secret ${tenant} <its own Retell API key>`,
        );
      }
      expect(await logHead(server)).toBe(head);
      // Once twin has a secret of its own, each tenant takes only the webhooks signed with its own.
      expect(await cli(database, "tenants", "set-retell-secret", "twin", "twin-secret-1")).toMatch(/set the Retell secret of tenant twin/);
      await untilRetell("demo", true);
      expect((await webhook(body, { "x-retell-signature": sign(body) }, "demo")).status).toBe(200);
      expect((await webhook(body, { "x-retell-signature": sign(body) }, "twin")).status).toBe(401);
      expect((await webhook(body, { "x-retell-signature": sign(body, "twin-secret-1") }, "twin")).status).toBe(200);
    });
  });
});

function flipDigit(hex: string): string {
  return (hex[0] === "0" ? "1" : "0") + hex.slice(1);
}

async function waitFor(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}
