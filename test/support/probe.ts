import { vi } from "vitest";
import { RawStream } from "./raw-stream.js";
import { api, publish } from "./server.js";
import { tenantKey } from "./tenants.js";

/** How long a probe waits before calling the server stalled: far above any healthy answer, far below a stall. */
const SERVED_WITHIN_MS = 20_000;

/**
 * A second tenant beside a hostile client. It publishes to its own tenant and
 * waits for each event on its own open stream, and asks /healthz, so a test
 * can assert that every other tenant stays served while one client does its
 * worst. Latencies are returned for the curious; tests assert order and
 * completion, never durations (timings belong in bench/).
 */
export class Probe {
  readonly #server: { url: string };
  readonly #key: string;
  readonly #tenant: string;
  readonly #stream: RawStream;

  private constructor(server: { url: string }, tenant: string, key: string, stream: RawStream) {
    this.#server = server;
    this.#tenant = tenant;
    this.#key = key;
    this.#stream = stream;
  }

  /** Creates the probe's tenant and key and opens its stream, live from the head. */
  static async open(server: Parameters<typeof tenantKey>[0], tenant = "probe"): Promise<Probe> {
    const { secret } = await tenantKey(server, tenant, ["read", "publish"]);
    const stream = RawStream.open(server.url, `/api/v1/tenants/${tenant}/stream`, { authorization: `Bearer ${secret}` });
    await vi.waitFor(() => {
      if (!stream.head().startsWith("HTTP/1.1 200")) throw new Error("probe stream not open yet");
    }, { timeout: SERVED_WITHIN_MS, interval: 20 });
    return new Probe(server, tenant, secret, stream);
  }

  /** Publishes one event and waits until it arrives on the probe's stream; resolves with the milliseconds it took. */
  async roundTrip(): Promise<number> {
    const started = performance.now();
    const { status, body } = await publish(this.#server, this.#tenant, { type: "probe.ping", data: {} }, { key: this.#key });
    if (status !== 201) throw new Error(`probe publish answered ${status}: ${JSON.stringify(body)}`);
    const id: number = body.ids[0];
    await vi.waitFor(() => {
      if (!this.#stream.ids().includes(id)) throw new Error(`probe event ${id} not delivered yet`);
    }, { timeout: SERVED_WITHIN_MS, interval: 10 });
    return performance.now() - started;
  }

  /** Asks /healthz; resolves with its status. */
  async health(): Promise<number> {
    const res = await api(this.#server, "/healthz", { signal: AbortSignal.timeout(SERVED_WITHIN_MS) });
    await res.arrayBuffer();
    return res.status;
  }

  close(): void {
    this.#stream.destroy();
  }
}
