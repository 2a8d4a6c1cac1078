/**
 * A small client of Switchboard's public HTTP API, shared by the demo
 * producers — and the reference for anyone integrating: publish with
 * idempotency keys and retries, and hold a worker's command stream that
 * resumes with Last-Event-ID, so no command is missed or handled twice.
 * It uses nothing but fetch: no server code is imported.
 */
import { followSupervisor } from "../supervised.js";

export interface EventInput {
  type: string;
  subject?: string;
  data?: Record<string, unknown>;
  /** Idempotency key: a retried publish with the same key appends nothing new. */
  key?: string;
}

export interface Command {
  id: number;
  type: string;
  subject: string | null;
  data: Record<string, unknown>;
}

export interface ClientOptions {
  url: string;
  key: string;
  tenant: string;
  /** Logs one line per notable thing (reconnects, retries); silent by default. */
  log?: (line: string) => void;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status}: ${body.slice(0, 300)}`);
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    // The abort listener goes with the timer: a long-lived signal must not collect one per sleep.
    const onAbort = () => (clearTimeout(timer), resolve());
    const timer = setTimeout(() => (signal?.removeEventListener("abort", onAbort), resolve()), ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });

export class SwitchboardClient {
  readonly #base: string;
  readonly #headers: Record<string, string>;
  readonly #log: (line: string) => void;

  constructor(readonly options: ClientOptions) {
    this.#base = `${options.url.replace(/\/$/, "")}/api/v1/tenants/${encodeURIComponent(options.tenant)}`;
    this.#headers = { authorization: `Bearer ${options.key}` };
    this.#log = options.log ?? (() => {});
  }

  /**
   * Publishes events (one request, atomic) and returns their ids. Network
   * errors, 429 and 5xx are retried with backoff — safe because every event
   * should carry a `key`; 4xx other than 429 are the caller's bug and throw.
   */
  async publish(events: EventInput | EventInput[], options: { attempts?: number } = {}): Promise<number[]> {
    const body = JSON.stringify(events);
    const res = await this.#send("POST", "/events", body, options.attempts ?? 8);
    return ((await res.json()) as { ids: number[] }).ids;
  }

  /**
   * Publishes one event until it is committed: past the retries of
   * `publish` (a server restart) it keeps trying with the same key until
   * `signal` aborts. A 4xx other than 429 (the state moved on: 409, or a
   * bug: 400) is logged and answered with null.
   */
  async publishUntilCommitted(event: EventInput, signal: AbortSignal): Promise<number | null> {
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        return (await this.publish(event))[0];
      } catch (err) {
        if (err instanceof HttpError && err.status < 500 && err.status !== 429) {
          this.#log(`${event.type} for ${event.subject} refused: ${err.message}`);
          return null;
        }
        this.#log(`${event.type} for ${event.subject} not sent yet (${(err as Error).message}); retrying`);
        await sleep(Math.min(1000 * attempt, 5000), signal);
      }
    }
    return null;
  }

  /** POSTs to a command or state route under the tenant, e.g. `/channels`, with retries like publish. */
  async post(path: string, body: unknown = {}): Promise<unknown> {
    const res = await this.#send("POST", path, JSON.stringify(body), 8);
    return res.json();
  }

  async get(path: string): Promise<unknown> {
    const res = await this.#send("GET", path, undefined, 8);
    return res.json();
  }

  async #send(method: string, path: string, body: string | undefined, attempts: number): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fetch(this.#base + path, {
          method,
          headers: body === undefined ? this.#headers : { ...this.#headers, "content-type": "application/json" },
          body,
        });
        if (res.ok) return res;
        const text = await res.text();
        if (res.status !== 429 && res.status < 500) throw new HttpError(res.status, text);
        if (attempt >= attempts) throw new HttpError(res.status, text);
      } catch (err) {
        if (err instanceof HttpError && (err.status < 500 && err.status !== 429)) throw err;
        if (attempt >= attempts) throw err;
        this.#log(`${method} ${path} failed (${(err as Error).message}); retrying`);
      }
      await sleep(Math.min(250 * 2 ** (attempt - 1), 5000));
    }
  }

  /**
   * Holds this worker's command stream open — which is its presence — and
   * calls `handle` for each command, one at a time, in order. It reconnects
   * after any drop with the last handled id as Last-Event-ID, so a server
   * restart neither repeats nor skips a command. Stop with `signal`.
   */
  async holdCommands(
    worker: string,
    handle: (command: Command) => Promise<void> | void,
    options: { kinds?: string[]; signal?: AbortSignal; lastEventId?: number } = {},
  ): Promise<void> {
    let lastId = options.lastEventId ?? null;
    const query = options.kinds?.length ? `?kinds=${options.kinds.join(",")}` : "";
    const url = `${this.#base}/workers/${encodeURIComponent(worker)}/commands${query}`;
    let delay = 250;
    while (!options.signal?.aborted) {
      try {
        const headers: Record<string, string> = { ...this.#headers, accept: "text/event-stream" };
        if (lastId !== null) headers["last-event-id"] = String(lastId);
        const res = await fetch(url, { headers, signal: options.signal });
        if (!res.ok || !res.body) throw new HttpError(res.status, await res.text());
        delay = 250;
        for await (const frame of sseFrames(res.body)) {
          if (frame.id !== undefined) {
            const id = Number(frame.id);
            if (frame.event === "reset" || !frame.data) {
              lastId = id;
              continue;
            }
            const event = JSON.parse(frame.data) as Command;
            await handle({ id: event.id, type: event.type, subject: event.subject, data: event.data });
            lastId = id;
          }
        }
        this.#log(`command stream of ${worker} ended; reconnecting`);
      } catch (err) {
        if (options.signal?.aborted) return;
        if (err instanceof HttpError && err.status >= 400 && err.status < 500 && err.status !== 429) throw err;
        this.#log(`command stream of ${worker}: ${(err as Error).message}; reconnecting in ${delay} ms`);
      }
      await sleep(delay, options.signal);
      delay = Math.min(delay * 2, 5000);
    }
  }
}

/** Parses an SSE body into frames (id, event, data), per the spec's line rules. */
export async function* sseFrames(body: ReadableStream<Uint8Array>): AsyncGenerator<{ id?: string; event?: string; data: string }> {
  const decoder = new TextDecoder();
  let buffer = "";
  let frame: { id?: string; event?: string; data: string[] } = { data: [] };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "") {
        if (frame.data.length > 0 || frame.id !== undefined) yield { id: frame.id, event: frame.event, data: frame.data.join("\n") };
        frame = { data: [] };
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "data") frame.data.push(value);
      else if (field === "id") frame.id = value;
      else if (field === "event") frame.event = value;
    }
  }
}

/** `--url`, `--key`, `--tenant` (or SWITCHBOARD_URL / _KEY / _TENANT), plus a producer's own flags. */
export function producerArgs(argv: string[] = process.argv.slice(2)): ClientOptions & { flags: Record<string, string> } {
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) throw new Error(`unexpected argument "${argv[i]}"`);
    flags[m[1]] = m[2] ?? (argv[i + 1] && !argv[i + 1].startsWith("--") ? argv[++i] : "true");
  }
  const url = flags.url ?? process.env.SWITCHBOARD_URL ?? "http://localhost:3000";
  const key = flags.key ?? process.env.SWITCHBOARD_KEY;
  const tenant = flags.tenant ?? process.env.SWITCHBOARD_TENANT ?? "demo";
  if (!key) throw new Error("a key is needed: --key <API key> (or SWITCHBOARD_KEY)");
  return { url, key, tenant, flags };
}

/** Runs a producer until SIGINT/SIGTERM (or its supervisor's end), then aborts its signal and lets it finish. */
export function runProducer(name: string, main: (client: SwitchboardClient, flags: Record<string, string>, signal: AbortSignal) => Promise<void>): void {
  let args;
  try {
    args = producerArgs();
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.on("SIGTERM", stop);
  if (!followSupervisor(stop)) process.on("SIGINT", stop);
  // One program per process: its output is its own (the demo prefixes each line with the program's name).
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const client = new SwitchboardClient({ ...args, log });
  main(client, args.flags, abort.signal).then(
    () => process.exit(0),
    (err) => {
      log(`stopped: ${(err as Error).stack ?? err}`);
      process.exit(1);
    },
  );
}

export { sleep };
