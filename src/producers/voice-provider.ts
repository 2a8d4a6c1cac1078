/**
 * A voice provider, as Retell is one: it sends Retell-format webhooks
 * (`call_started`, `call_ended`, `call_analyzed`) for the calls it "places"
 * and "receives", signed exactly as Retell signs them, to
 * `POST /api/v1/tenants/<tenant>/webhooks/retell`.
 *
 *   SWITCHBOARD_KEY=sb_… SWITCHBOARD_RETELL_SECRET=key_… npm run producer:voice -- --url http://localhost:3000 --tenant demo
 *
 * The webhook route is authenticated by the signature alone: the key
 * (SWITCHBOARD_KEY or `--key`) is not sent with webhooks (it is only
 * required because every producer takes it).
 * `--retell-secret` (or SWITCHBOARD_RETELL_SECRET) must be the tenant's
 * Retell secret (`npm run switchboard -- tenants set-retell-secret <tenant> <secret>`).
 *
 * Pace at `--speed 1`: a new call every few seconds while fewer than three
 * are up, each 20 s to 3 min long; some outbound calls fail to connect (no
 * answer, busy, dial failed); most connected calls get an analysis a few
 * seconds after they end. Numbers are from fictional ranges (555-01xx in
 * North America, 07700 900xxx in the UK, 0491 570xxx in Australia); the
 * server masks them anyway. On stop, calls still up are hung up, so no call
 * is left active on the server.
 */
import { createHmac, randomInt } from "node:crypto";
import { runProducer, sleep, type SwitchboardClient } from "./client.js";

const AGENTS = ["ada", "grace", "linus"] as const;
const MAX_CONCURRENT = 3;
/** The business line: callers dial it, outbound calls come from it. */
const OUR_NUMBER = "+14155550100";
const CLIENTS = ["acme-retail", "globex", "initech", undefined, undefined] as const;

interface Topic {
  summary: (name: string) => string;
  lines: [string, string][];
}

const TOPICS: Topic[] = [
  {
    summary: (n) => `${n} asked why their last invoice was higher than usual. The agent explained the prorated plan change and offered to split the difference as a one-time credit, which the caller accepted.`,
    lines: [["Hi, my invoice this month is way higher than usual.", "I can help with that. I see a plan change mid-cycle, so part of it is prorated."], ["Can you do anything about it?", "I can apply a one-time credit for the difference. Shall I?"]],
  },
  {
    summary: (n) => `${n} wanted the status of order 4471. The agent confirmed it shipped yesterday and shared the tracking link by SMS.`,
    lines: [["Where is my order? It's number 4471.", "Let me check... it shipped yesterday and should arrive Thursday."], ["Can you text me the tracking link?", "Done, you should have it now."]],
  },
  {
    summary: (n) => `${n} rescheduled their appointment from Tuesday to Friday at 10:00. Confirmation sent.`,
    lines: [["I need to move my appointment on Tuesday.", "Sure. Would Friday at 10 work?"], ["Friday at 10 is perfect.", "Great, you're booked. A confirmation is on its way."]],
  },
  {
    summary: (n) => `${n} could not log in after a password reset. The agent verified their identity and unlocked the account; the caller signed in successfully while on the line.`,
    lines: [["I reset my password and now I'm locked out.", "I'm sorry about that. Can you confirm the email on the account?"], ["It's the one ending in 'mail.com'.", "Thanks, I've unlocked it. Could you try signing in now?"]],
  },
  {
    summary: (n) => `${n} asked to cancel their subscription. The agent offered a three-month discount; the caller declined and the cancellation was scheduled for the end of the billing period.`,
    lines: [["I'd like to cancel my subscription.", "I can help. Before I do, I can offer 30% off for three months."], ["No thanks, please cancel.", "Understood. It will end at the close of this billing period."]],
  },
  {
    summary: (n) => `Follow-up call: ${n} confirmed the replacement device arrived and works. No further action needed.`,
    lines: [["Hi, this is a quick follow-up about your replacement device.", "Oh yes, it arrived on Monday."], ["Is everything working as expected?", "All good, thanks for checking."]],
  },
];
const NAMES = ["The caller", "The customer", "Ms. Okafor", "Mr. Lindqvist", "Dr. Tanaka", "Mrs. Moreau", "Mr. Haddad"];

/** Retell's ids are 32 letters and digits. */
function callId(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let id = "";
  for (let i = 0; i < 32; i++) id += alphabet[randomInt(alphabet.length)];
  return id;
}

/** A realistic E.164 number from ranges reserved for fiction, so no real person is "called". */
function phoneNumber(): string {
  const r = Math.random();
  const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join("");
  if (r < 0.6) return `+1${["212", "312", "415", "646", "702", "917"][randomInt(6)]}55501${digits(2)}`;
  if (r < 0.85) return `+447700900${digits(3)}`;
  return `+61491570${digits(3)}`;
}

const pick = <T>(items: readonly T[]): T => items[randomInt(items.length)];
const between = (min: number, max: number) => min + Math.random() * (max - min);

/** The `X-Retell-Signature` Retell sends: `v=<unix ms>,d=<hex HMAC-SHA256(secret, rawBody + timestamp)>`. */
export function retellSignature(secret: string, rawBody: string, now = Date.now()): string {
  const timestamp = String(now);
  const digest = createHmac("sha256", secret).update(rawBody).update(timestamp).digest("hex");
  return `v=${timestamp},d=${digest}`;
}

class WebhookRefused extends Error {}

interface Call {
  call_type: "phone_call" | "web_call";
  call_id: string;
  agent_id: string;
  direction?: "inbound" | "outbound";
  from_number?: string;
  to_number?: string;
  call_status: string;
  metadata: Record<string, string>;
  start_timestamp?: number;
  end_timestamp?: number;
  duration_ms?: number;
  disconnection_reason?: string;
  transcript?: string;
  call_analysis?: Record<string, unknown>;
}

runProducer("voice-provider", async (client, flags, signal) => {
  const secret = flags["retell-secret"] ?? process.env.SWITCHBOARD_RETELL_SECRET;
  if (!secret || secret === "true") {
    process.stderr.write("voice-provider: a Retell secret is needed: --retell-secret <secret> (or SWITCHBOARD_RETELL_SECRET), the one set with `npm run switchboard -- tenants set-retell-secret <tenant> <secret>`\n");
    process.exit(2);
  }
  const speed = Number(flags.speed ?? 1);
  if (!(speed > 0)) throw new Error(`--speed must be a positive number, not "${flags.speed}"`);
  const { url, tenant } = client.options;
  const endpoint = `${url.replace(/\/$/, "")}/api/v1/tenants/${encodeURIComponent(tenant)}/webhooks/retell`;
  const wait = (seconds: number, s: AbortSignal = signal) => sleep((seconds * 1000) / speed, s);
  const log = (line: string) => process.stdout.write(`${line}\n`);

  /**
   * Delivers one webhook as Retell does: retried on network errors, 429 and
   * 5xx (signed afresh each time, as the timestamp must be recent). A 401 or
   * 403 means the secret is wrong or not set: nothing will ever succeed, so
   * the producer stops with the server's reason.
   */
  async function deliver(event: string, call: Call): Promise<boolean> {
    const body = JSON.stringify({ event, call });
    for (let attempt = 1; ; attempt++) {
      let problem: string;
      try {
        const res = await fetch(endpoint, {
          method: "POST",
          headers: { "content-type": "application/json", "x-retell-signature": retellSignature(secret!, body) },
          body,
        });
        if (res.ok) {
          await res.body?.cancel();
          return true;
        }
        const text = await res.text();
        if (res.status === 401 || res.status === 403 || res.status === 404) throw new WebhookRefused(`${event} refused with ${res.status}: ${text.slice(0, 400)}`);
        if (res.status !== 429 && res.status < 500) {
          // A payload bug on our side: report it, and move on as Retell would not retry it either.
          log(`${event} for ${call.call_id} refused with ${res.status}: ${text.slice(0, 300)}`);
          return false;
        }
        problem = `HTTP ${res.status}`;
      } catch (err) {
        if (err instanceof WebhookRefused) throw err;
        problem = (err as Error).message;
      }
      if (attempt >= 8) {
        log(`${event} for ${call.call_id} not delivered after ${attempt} attempts (${problem}); giving up on it`);
        return false;
      }
      process.stderr.write(`${event} failed (${problem}); retrying\n`);
      await sleep(Math.min(250 * 2 ** (attempt - 1), 5000));
    }
  }

  const busyAgents = new Set<string>();
  const running = new Set<Promise<void>>();
  /** Hangs up the calls still up when the producer stops. */
  const hangUp = new AbortController();
  signal.addEventListener("abort", () => hangUp.abort(), { once: true });
  let fatal: Error | null = null;

  async function placeCall(agent: string): Promise<void> {
    const outbound = Math.random() < 0.4;
    const web = !outbound && Math.random() < 0.1;
    const other = phoneNumber();
    const client = pick(CLIENTS);
    const call: Call = {
      call_type: web ? "web_call" : "phone_call",
      call_id: callId(),
      agent_id: agent,
      call_status: "registered",
      metadata: client ? { client } : {},
    };
    if (!web) Object.assign(call, { direction: outbound ? "outbound" : "inbound", from_number: outbound ? OUR_NUMBER : other, to_number: outbound ? other : OUR_NUMBER });
    const label = `${web ? "web" : outbound ? "outbound" : "inbound"} call ${call.call_id.slice(0, 8)} (${agent})`;

    // Some outbound calls never connect: Retell reports only their end.
    if (outbound && Math.random() < 0.25) {
      await wait(between(4, 20), hangUp.signal);
      const reason = pick(["dial_no_answer", "dial_no_answer", "dial_busy", "dial_failed"]);
      const sent = await deliver("call_ended", { ...call, call_status: reason === "dial_failed" ? "error" : "not_connected", disconnection_reason: reason });
      if (sent) log(`${label} did not connect: ${reason}`);
      return;
    }

    const start = Date.now();
    if (await deliver("call_started", { ...call, call_status: "ongoing", start_timestamp: start })) log(`${label} started`);
    // Mostly one to two minutes, sometimes short, now and then up to three.
    const seconds = Math.random() < 0.2 ? between(20, 40) : Math.random() < 0.85 ? between(40, 120) : between(120, 180);
    await wait(seconds, hangUp.signal);
    const end = Date.now();
    const stopped = hangUp.signal.aborted;
    const topic = pick(TOPICS);
    const reason = stopped ? "agent_hangup" : pick(["user_hangup", "user_hangup", "user_hangup", "agent_hangup", "agent_hangup", "call_transfer", "voicemail_reached", "inactivity"]);
    const transcript = topic.lines.map(([user, agentLine]) => `User: ${user}\nAgent: ${agentLine}`).join("\n");
    // The duration is what the console's live timer showed: at --speed 5 a "minute" lasts 12 s.
    const ended: Call = { ...call, call_status: "ended", start_timestamp: start, end_timestamp: end, duration_ms: end - start, disconnection_reason: reason, transcript };
    if (await deliver("call_ended", ended)) log(`${label} ended after ${Math.round((ended.duration_ms ?? 0) / 1000)} s: ${reason}`);
    if (stopped || reason === "voicemail_reached" || Math.random() < 0.3) return;

    // Retell analyses most calls a few seconds after they end.
    await wait(between(2, 8));
    if (signal.aborted) return;
    const successful = Math.random() < 0.8;
    const sentiment = successful ? pick(["Positive", "Positive", "Neutral"]) : pick(["Negative", "Neutral", "Unknown"]);
    const analysis = { call_summary: topic.summary(pick(NAMES)), user_sentiment: sentiment, call_successful: successful, in_voicemail: false };
    if (await deliver("call_analyzed", { ...ended, call_analysis: analysis })) log(`${label} analyzed: ${sentiment.toLowerCase()}, ${successful ? "successful" : "unsuccessful"}`);
  }

  log(`sending Retell webhooks to ${endpoint} at speed ${speed}`);
  while (!signal.aborted && !fatal) {
    // How many lines are up varies: one to three, most often two or three.
    const target = Math.min(MAX_CONCURRENT, pick([1, 2, 2, 3, 3]));
    const free = AGENTS.filter((a) => !busyAgents.has(a));
    if (free.length > 0 && busyAgents.size < target) {
      const agent = pick(free);
      busyAgents.add(agent);
      const task = placeCall(agent)
        .catch((err: Error) => {
          fatal ??= err;
          hangUp.abort();
        })
        .finally(() => {
          busyAgents.delete(agent);
          running.delete(task);
        });
      running.add(task);
    }
    // A new call every few seconds while a line is free; sooner when all are quiet.
    await wait(busyAgents.size === 0 ? between(1, 2) : between(3, 8));
  }
  // Calls still up are hung up (the abort above reached them); wait for their last webhooks.
  await Promise.all(running);
  if (fatal) throw fatal;
});
