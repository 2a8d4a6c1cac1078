import type { StoredEvent } from "../../event.js";
import { AppendRejected } from "../../store/event-log.js";
import { ShuttingDown } from "../../store/sqlite-event-log.js";
import { Deadlines } from "../deadlines.js";
import type { DomainContext } from "../domain.js";
import { connectingChannels, findChannel } from "./queries.js";

/**
 * A connect that no connector answers must not spin forever on the hub's
 * card. Every channel that is `connecting` has a deadline: the timeout after
 * the last thing it heard (the request, a progress step, a disconnect
 * request). A connector that reports progress keeps its channel alive, so a
 * slow connect (a QR code waiting to be scanned) can send steps, even the
 * same one again, as a heartbeat. At the deadline Switchboard appends
 * `channel.failed` itself, with `timeout_ms`, which the projection refuses
 * if anything was heard in the meantime: a report that lands at the last
 * moment wins over the timeout.
 */
export class ConnectTimeouts {
  readonly #deadlines = new Deadlines();

  constructor(private readonly ctx: DomainContext) {}

  /** After each committed channel event: arm the channel's deadline while it is connecting, clear it otherwise. */
  onCommit(e: StoredEvent): void {
    if (!e.type.startsWith("channel.") || e.subject === null) return;
    this.#check(e.tenant, e.subject);
  }

  /** On boot: connecting channels get their deadline back, from when they last heard anything. */
  start(): void {
    this.#deadlines.start();
    for (const c of connectingChannels(this.ctx.db)) this.#arm(c.tenant, c.channelId, c.updatedAt);
  }

  stop(): void {
    this.#deadlines.stop();
  }

  #check(tenant: string, channelId: string): void {
    const channel = findChannel(this.ctx.db, tenant, channelId);
    if (channel?.state === "connecting") this.#arm(tenant, channelId, channel.updatedAt);
    else this.#deadlines.clear(key(tenant, channelId));
  }

  #arm(tenant: string, channelId: string, heardAt: number): void {
    const at = heardAt + this.ctx.commandTimeoutMs;
    this.#deadlines.set(key(tenant, channelId), at, () => this.#expire(tenant, channelId, at));
  }

  #expire(tenant: string, channelId: string, at: number): void {
    const channel = findChannel(this.ctx.db, tenant, channelId);
    if (channel?.state !== "connecting") return;
    // A timer may fire a millisecond early by the wall clock; the projection would refuse the failure then.
    if (Date.now() < at || channel.updatedAt + this.ctx.commandTimeoutMs > at) return this.#check(tenant, channelId);
    const within = duration(this.ctx.commandTimeoutMs);
    const reason =
      channel.step === null
        ? `no connector answered within ${within}`
        : `the connector went silent for ${within} after step ${channel.step} of ${channel.total}`;
    const data = { reason, timeout_ms: this.ctx.commandTimeoutMs };
    this.ctx.log.append(tenant, [{ type: "channel.failed", subject: channelId, data: JSON.stringify(data), key: null }]).catch((err: Error) => {
      // Refused when the connector answered at the last moment (409), or the server is stopping: both expected.
      const expected = err instanceof AppendRejected || err instanceof ShuttingDown;
      this.ctx.logger[expected ? "debug" : "warn"]("connect timeout not appended", { tenant, channel: channelId, error: err.message });
    });
  }
}

const key = (tenant: string, channelId: string) => `${tenant}\u0000${channelId}`;

/** 30000 → "30 s", 1500 → "1.5 s", 300 → "300 ms". */
const duration = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`);
