/**
 * Demo producer: a channel connector (worker `connector-1`, kind `channels`).
 *
 * It holds its command stream (its presence) and answers:
 * - `channel.connect_requested` by stepping through the platform's connection
 *   sequence (`channel.progress`), then `channel.connected`, or
 *   `channel.failed` with a reason (about 1 in 5);
 * - `channel.disconnect_requested` with `channel.disconnected`.
 * For every channel it holds, it reports incoming and outgoing messages
 * (`activity.message`) at a realistic pace.
 *
 * It uses only Switchboard's public HTTP API. Every event carries an
 * idempotency key derived from the command id, the channel and the step, and
 * a connect's outcome is derived from its command id, so a retried publish or
 * a replayed command appends nothing twice.
 *
 *   SWITCHBOARD_KEY=sb_… npm run producer:channels -- --url http://localhost:3000 [--tenant demo]
 *        [--speed 1] [--seed true|false] [--fail-rate 0.2]
 *
 * On start it reads the channels (`GET …/channels`): it resumes reporting for
 * the connected channels it holds, finishes the connects and disconnects that
 * were waiting for it, then follows its command stream from that state's
 * `head`, so nothing is missed or handled twice. With `--seed` (on by
 * default) and no channel at all, it requests a few connects itself, as an
 * operator would, so a fresh demo's hub is not empty.
 */
import { randomBytes } from "node:crypto";
import { runProducer, sleep, type Command, type EventInput, type SwitchboardClient } from "./client.js";
import { seeded } from "./random.js";

const WORKER = "connector-1";

const KIND = "channels";

interface Step {
  label: string;
  /** Typical time the step takes at speed 1, in ms. */
  ms: [number, number];
}
interface Failure {
  /** The step (1-based) at which it fails. */
  at: number;
  reason: string;
}
interface Platform {
  steps: Step[];
  failures: Failure[];
  messages: { in: string[]; out: string[] };
  sender: (rand: () => number) => string;
}

const s = (label: string, min = 900, max = 2000): Step => ({ label, ms: [min, max] });
const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const digits = (rand: () => number, n: number) => Array.from({ length: n }, () => Math.floor(rand() * 10)).join("");
const FIRST = ["maria", "jonas", "li", "amara", "diego", "sofia", "kenji", "fatima", "liam", "noor", "oscar", "priya"];
const LAST = ["k", "b", "chen", "okafor", "r", "m", "tanaka", "h", "w", "s"];

const PLATFORMS: Record<string, Platform> = {
  whatsapp: {
    steps: [s("Validating credentials"), s("Registering webhook"), s("Waiting for QR scan", 2000, 4000), s("Syncing contacts", 1200, 2500)],
    failures: [
      { at: 1, reason: "Invalid access token for the WhatsApp Business account" },
      { at: 2, reason: "Webhook URL unreachable (HTTP 502)" },
      { at: 3, reason: "QR code expired before it was scanned" },
    ],
    messages: {
      in: ["Hi, is my order 48213 on its way?", "Can I change the delivery address?", "Do you ship to Portugal?", "The tracking link doesn't work", "Thanks, got it 👍", "What are your opening hours on Saturday?"],
      out: ["Hi! Your order 48213 left our warehouse this morning.", "Sure — send me the new address and I'll update it.", "Yes, we ship to Portugal in 3–5 business days.", "Here's a fresh tracking link: trk.example/48213", "Happy to help! Anything else?", "We're open 9:00–14:00 on Saturdays."],
    },
    sender: (r) => `+1 415 555 ${digits(r, 4)}`,
  },
  telegram: {
    steps: [s("Checking bot token"), s("Setting webhook"), s("Fetching bot profile")],
    failures: [
      { at: 1, reason: "Invalid bot token (401 Unauthorized from the Bot API)" },
      { at: 2, reason: "Webhook URL unreachable (HTTP 502)" },
    ],
    messages: {
      in: ["/start", "/status 7781", "How do I reset my password?", "Is the API down? Getting 503s", "Can I talk to a human?"],
      out: ["Welcome! Type /help to see what I can do.", "Order 7781: packed, ships today.", "Use 'Forgot password' on the login page; the link is valid for 1 hour.", "No incident right now — can you share a request id?", "Connecting you to an agent, one moment…"],
    },
    sender: (r) => `@${pick(r, FIRST)}_${pick(r, LAST)}${Math.floor(r() * 90 + 10)}`,
  },
  slack: {
    steps: [s("Exchanging OAuth code"), s("Verifying workspace"), s("Listing channels", 1000, 2200), s("Subscribing to events")],
    failures: [
      { at: 1, reason: "OAuth code expired (invalid_code)" },
      { at: 2, reason: "Workspace admin has not approved the app" },
      { at: 4, reason: "Event subscription URL failed verification (HTTP 502)" },
    ],
    messages: {
      in: ["@support the staging deploy is stuck", "Anyone seen invoice INV-2231 fail?", "Customer asking about SSO pricing", "Can we get the Q3 numbers?"],
      out: ["Looking into the deploy now — ETA 10 min.", "INV-2231 was retried and succeeded at 10:42.", "SSO is included in the Business plan; I'll send the sheet.", "Posted the Q3 summary in #finance."],
    },
    sender: (r) => `@${pick(r, FIRST)}.${pick(r, LAST)}`,
  },
  sms: {
    steps: [s("Verifying sender number"), s("Checking 10DLC registration", 1200, 2400), s("Configuring inbound route")],
    failures: [
      { at: 1, reason: "Sender number is not owned by this account" },
      { at: 2, reason: "10DLC campaign registration is still pending" },
    ],
    messages: {
      in: ["YES", "Can I move my appointment to 3pm?", "STOP", "Running 10 min late", "Where do I park?"],
      out: ["Your appointment is confirmed for Tue 2:30pm. Reply YES to confirm.", "Done — moved to 3:00pm.", "You're unsubscribed. Reply START to resubscribe.", "No problem, see you soon.", "Visitor parking is on level 2, entrance B."],
    },
    sender: (r) => `+44 7700 9${digits(r, 5)}`,
  },
  email: {
    steps: [s("Verifying DNS records (SPF, DKIM)", 1200, 2500), s("Connecting to IMAP inbox"), s("Importing recent threads", 1200, 2500)],
    failures: [
      { at: 1, reason: "DKIM record not found for the sending domain" },
      { at: 2, reason: "IMAP login failed: authentication rejected" },
    ],
    messages: {
      in: ["Re: Invoice 2231 — wrong VAT number", "Refund request for order 55102", "Partnership inquiry", "Re: Your ticket #9912"],
      out: ["We've reissued invoice 2231 with the corrected VAT number.", "Your refund for order 55102 has been processed.", "Thanks for reaching out — I've looped in our partnerships team.", "Ticket #9912 is resolved; reply to reopen."],
    },
    sender: (r) => `${pick(r, FIRST)}.${pick(r, LAST)}@example.com`,
  },
  webchat: {
    steps: [s("Generating widget key"), s("Checking allowed origins"), s("Publishing widget")],
    failures: [{ at: 2, reason: "Origin https://shop.example is not allowed (CORS check failed)" }],
    messages: {
      in: ["Hello? Is anyone there?", "Which plan includes call recording?", "I can't log in", "Do you offer a nonprofit discount?"],
      out: ["Hi! How can I help today?", "Call recording is in Pro and Business.", "Let's fix that — what e-mail do you use to sign in?", "Yes, 30% off for registered nonprofits."],
    },
    sender: (r) => `visitor-${digits(r, 6)}`,
  },
};
const GENERIC: Platform = {
  steps: [s("Validating credentials"), s("Registering webhook"), s("Testing delivery")],
  failures: [
    { at: 1, reason: "Credentials rejected by the provider (HTTP 401)" },
    { at: 2, reason: "Webhook URL unreachable (HTTP 502)" },
  ],
  messages: { in: ["Hello", "Is this the right place for support?"], out: ["Hi! How can I help?", "Yes — ask away."] },
  sender: (r) => `user-${digits(r, 5)}`,
};
const platformOf = (name: string) => PLATFORMS[name] ?? GENERIC;


interface ChannelRow {
  channel_id: string;
  platform: string;
  name: string;
  state: "connecting" | "connected" | "failed" | "disconnected";
  step: number | null;
  worker: string | null;
  event_id: number;
}
interface EventJson {
  id: number;
  type: string;
  subject: string | null;
  data: Record<string, unknown>;
}

/** What this connector is doing for one channel: connecting (for a command) or reporting its messages. */
interface Task {
  kind: "connecting" | "connected";
  command?: number;
  abort: AbortController;
}

async function channelConnector(client: SwitchboardClient, flags: Record<string, string>, signal: AbortSignal): Promise<void> {
  const speed = Number(flags.speed ?? 1);
  if (!(speed > 0)) throw new Error("--speed must be a positive number");
  const failRate = Number(flags["fail-rate"] ?? 0.2);
  const seed = (flags.seed ?? "true") !== "false";
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const wait = (ms: number, sig: AbortSignal = signal) => sleep(ms / speed, sig);
  const between = ([min, max]: [number, number]) => min + Math.random() * (max - min);
  const run = randomBytes(4).toString("hex");

  const tasks = new Map<string, Task>();
  const handled = new Set<number>();
  /** Per-channel chain: a channel's publishes are sent one at a time, in order. */
  const chains = new Map<string, Promise<unknown>>();
  const serial = <T>(channel: string, fn: () => Promise<T>): Promise<T> => {
    const next = (chains.get(channel) ?? Promise.resolve()).then(fn, fn);
    chains.set(channel, next.catch(() => {}));
    return next;
  };

  const send = (event: EventInput) => client.publishUntilCommitted(event, signal);

  function stop(channel: string): void {
    tasks.get(channel)?.abort.abort();
    tasks.delete(channel);
  }

  /** Steps through the platform's sequence for connect command `command`, from `fromStep`. */
  async function connect(channel: string, platformName: string, name: string, command: number, fromStep = 1): Promise<void> {
    const current = tasks.get(channel);
    if (current?.kind === "connecting" && current.command === command) return; // already on it
    stop(channel);
    const task: Task = { kind: "connecting", command, abort: new AbortController() };
    tasks.set(channel, task);
    const sig = AbortSignal.any([signal, task.abort.signal]);
    const platform = platformOf(platformName);
    // The outcome depends on the command only: a replay takes the same course, with the same keys.
    const rand = seeded(`connect:${command}`);
    const failure = rand() < failRate ? pick(rand, platform.failures) : undefined;
    const total = platform.steps.length;
    const base = `${WORKER}:${channel}:${command}`;
    log(`connecting ${platformName} channel ${channel} ("${name}") for command ${command}${fromStep > 1 ? ` from step ${fromStep}` : ""}`);
    for (let step = fromStep; step <= total; step++) {
      const { label, ms } = platform.steps[step - 1];
      const sent = await serial(channel, async () => {
        if (sig.aborted) return null;
        return send({ type: "channel.progress", subject: channel, data: { step, total, label, worker: WORKER }, key: `${base}:step:${step}` });
      });
      if (sent === null) return void (tasks.get(channel) === task && tasks.delete(channel));
      await wait(between(ms), sig);
      if (sig.aborted) return;
      if (failure?.at === step) {
        await serial(channel, async () => {
          if (sig.aborted) return;
          if ((await send({ type: "channel.failed", subject: channel, data: { reason: failure.reason, worker: WORKER }, key: `${base}:failed` })) !== null) {
            log(`channel ${channel} failed: ${failure.reason}`);
          }
        });
        if (tasks.get(channel) === task) tasks.delete(channel);
        return;
      }
    }
    const connected = await serial(channel, async () => {
      if (sig.aborted) return null;
      return send({ type: "channel.connected", subject: channel, data: { worker: WORKER }, key: `${base}:connected` });
    });
    if (tasks.get(channel) !== task) return;
    tasks.delete(channel);
    if (connected !== null) {
      log(`channel ${channel} connected`);
      report(channel, platformName);
    }
  }

  async function disconnect(channel: string, command: number, reason?: string): Promise<void> {
    stop(channel);
    await serial(channel, async () => {
      const data = { ...(reason ? { reason } : {}), worker: WORKER };
      if ((await send({ type: "channel.disconnected", subject: channel, data, key: `${WORKER}:${channel}:${command}:disconnected` })) !== null) {
        log(`channel ${channel} disconnected`);
      }
    });
  }

  /** Reports a connected channel's conversations: a customer writes, the bot or an agent answers. */
  function report(channel: string, platformName: string): void {
    if (tasks.get(channel)?.kind === "connected") return;
    const task: Task = { kind: "connected", abort: new AbortController() };
    tasks.set(channel, task);
    const sig = AbortSignal.any([signal, task.abort.signal]);
    const platform = platformOf(platformName);
    let n = 0;
    // `sender` is the customer on an incoming message; an outgoing one is sent by the channel itself.
    const message = (direction: "in" | "out", preview: string, sender?: string) => {
      const id = `${channel}-${run}-${++n}`;
      return serial(channel, async () => {
        if (sig.aborted) return;
        const data = { platform: platformName, direction, preview, ...(sender ? { sender } : {}), channel, message_id: id };
        await send({ type: "activity.message", subject: channel, data, key: `${WORKER}:msg:${id}` });
      });
    };
    void (async () => {
      await wait(between([1000, 4000]), sig);
      while (!sig.aborted) {
        const i = Math.floor(Math.random() * platform.messages.in.length);
        const customer = platform.sender(Math.random);
        await message("in", platform.messages.in[i], customer);
        if (Math.random() < 0.85) {
          await wait(between([800, 3000]), sig);
          if (sig.aborted) break;
          await message("out", platform.messages.out[i % platform.messages.out.length]);
        }
        await wait(between([4000, 12000]), sig);
      }
    })();
  }

  /** The connected channels this connector holds, as the server sees them: start or stop reporting to match. */
  async function sync(): Promise<void> {
    const { channels } = (await client.get("/channels?state=connected")) as { channels: ChannelRow[] };
    const mine = new Map(channels.filter((c) => c.worker === WORKER).map((c) => [c.channel_id, c]));
    for (const c of mine.values()) if (!tasks.has(c.channel_id)) report(c.channel_id, c.platform);
    for (const [id, t] of tasks) if (t.kind === "connected" && !mine.has(id)) stop(id);
  }

  async function handle(command: Command): Promise<void> {
    if (handled.has(command.id)) return;
    handled.add(command.id);
    const channel = command.subject;
    if (!channel) return;
    const d = command.data as { platform?: string; name?: string; reason?: string };
    if (command.type === "channel.connect_requested") void connect(channel, d.platform ?? "webchat", d.name ?? channel, command.id);
    else if (command.type === "channel.disconnect_requested") await disconnect(channel, command.id, d.reason);
  }

  /** The last event of a channel, to see which command it is waiting on. */
  async function eventAt(channel: string, id: number): Promise<EventJson | undefined> {
    const page = (await client.get(`/events?after=${id - 1}&limit=1&subject=${encodeURIComponent(channel)}`)) as { events: EventJson[] };
    return page.events.find((e) => e.id === id);
  }

  async function lastConnectRequest(channel: string): Promise<EventJson | undefined> {
    let after = 0;
    let last: EventJson | undefined;
    for (;;) {
      const page = (await client.get(`/events?after=${after}&limit=1000&types=channel.connect_requested&subject=${encodeURIComponent(channel)}`)) as {
        events: EventJson[];
        next: number;
      };
      last = page.events.at(-1) ?? last;
      if (page.events.length < 1000) return last;
      after = page.next;
    }
  }

  // Start from the state: what this connector holds, and what waits for it; then follow commands from its head.
  const state = (await client.get("/channels")) as { head: number; channels: ChannelRow[] };
  for (const c of state.channels) {
    if (c.state !== "connecting" && c.state !== "connected") continue;
    if (c.worker !== WORKER && !(c.state === "connecting" && c.worker === null)) continue;
    const last = await eventAt(c.channel_id, c.event_id);
    if (last?.type === "channel.disconnect_requested") {
      handled.add(last.id);
      void disconnect(c.channel_id, last.id, (last.data as { reason?: string }).reason);
    } else if (c.state === "connected") {
      report(c.channel_id, c.platform);
    } else {
      const request = last?.type === "channel.connect_requested" ? last : await lastConnectRequest(c.channel_id);
      if (!request) continue;
      handled.add(request.id);
      void connect(c.channel_id, c.platform, c.name, request.id, c.step ?? 1);
    }
  }
  log(`started at head ${state.head}: ${tasks.size} channel(s) resumed`);

  if (seed && state.channels.length === 0) {
    // Demo seeding: what an operator would do on a fresh hub. Fixed ids make a second seeding a harmless 409.
    for (const [id, platform, name] of [
      ["ch_demo_whatsapp", "whatsapp", "Support WhatsApp"],
      ["ch_demo_telegram", "telegram", "Order status bot"],
      ["ch_demo_webchat", "webchat", "Website chat"],
    ]) {
      try {
        await client.post("/channels", { id, platform, name });
        log(`demo seeding: requested a ${platform} connect (${id})`);
      } catch (err) {
        log(`demo seeding: ${id} not requested (${(err as Error).message})`);
      }
    }
  }

  const resync = (async () => {
    while (!signal.aborted) {
      await wait(15_000);
      if (signal.aborted) break;
      await sync().catch((err: Error) => log(`sync: ${err.message}`));
    }
  })();

  await client.holdCommands(WORKER, handle, { kinds: [KIND], signal, lastEventId: state.head });
  for (const id of [...tasks.keys()]) stop(id);
  await resync;
}

runProducer("channel-connector", channelConnector);
