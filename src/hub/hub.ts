import type { StoredEvent } from "../event.js";
import { QueueBudget } from "./queue-budget.js";
import { ReadAheadSlots } from "./read-ahead.js";
import { TurnBudget } from "../turn-budget.js";
import { FrameJoins } from "./frame-joins.js";
import { MemoryRelease } from "./memory-release.js";
import { RecentEvents, type PublishedEvent } from "./recent-events.js";
import { ReplayScheduler } from "./replay-scheduler.js";
import { encodeComment } from "./sse-frame.js";
import { EncodedFrame, Subscriber, type CloseReason, type SubscriberOwner } from "./subscriber.js";
import type { Sink } from "./sink.js";

/**
 * What a stream wants: which tenant, which events, and how an event becomes
 * a frame. Subscribers with the same `key` share one group, so the filter
 * runs and the frame is encoded once per event per group, not per subscriber.
 */
export interface Selector {
  /** Null for every tenant (admin streams). */
  tenant: string | null;
  /** Identifies `match` + `encode`; equal keys must mean equal behaviour. */
  key: string;
  match: (e: StoredEvent) => boolean;
  /**
   * The frame text for an event, or null to send nothing for it. A pure
   * function of the event: selectors with the same `encode` function share
   * each event's frame (a module-level function such as jsonFrame is shared
   * by every JSON stream, whatever its filter).
   */
  encode: (e: StoredEvent) => string | null;
  /** Optional pre-filter for reading history, a superset of `match` (lets the log filter in SQL). */
  narrow?: { types: readonly string[]; subject: string | null };
  /**
   * One frame for a run of matching events (ascending ids), or null to send
   * nothing; its `id:` must be the last event's. When set, live events are
   * not encoded in the commit listener: they are collected and encoded once
   * per group per turn of the event loop, after the publishers have their
   * acknowledgements (console pages, whose frames run SQL and templates).
   * Catch-up uses it once per page of history too.
   */
  encodeBatch?: (events: readonly StoredEvent[]) => string | null;
}

/** Subscribers of one scope (a tenant, or "*") with equal selectors. */
export interface Group {
  scope: string;
  selector: Selector;
  subscribers: Set<Subscriber>;
  /** Batch groups: matching events published since the group last rendered. */
  pending: StoredEvent[];
}

export interface HubOptions {
  /** Output one stream may hold; past it, the stream reads from the log instead of queueing more. */
  maxBuffer: number;
  heartbeatMs: number;
  maxStreamsPerTenant: number;
  /** On a cluster: a tenant's streams open on the other nodes, as they last reported (see StreamCensus); they count toward the cap. */
  streamsElsewhere?: (scope: string) => number;
  /** Output every stream together may hold (see QueueBudget). Default 64 MiB. */
  maxQueuedBytes?: number;
  /** A stream that has not drained for this long is cut as slow. Default twice heartbeatMs. */
  stallMs?: number;
  /** How long a stream must have not drained before the global bound may cut it for memory. Default 1 s. */
  pressureGraceMs?: number;
  /** Bytes of recently published events (and their frames) kept for replays to read from memory. Default 64 MiB; 0 keeps none. */
  recentBytes?: number;
  /** How long a published event stays in that memory at most. Default 10 s. */
  recentMaxAgeMs?: number;
  /** The loop's time per turn for work done in slices, shared with the rest of the server (see TurnBudget). */
  turn?: TurnBudget;
  /**
   * Streams are written at most once per this many milliseconds: frames of
   * commits that land sooner after the last write wait for the next one,
   * and go with it (see #scheduleFlush). Default 0: once per turn.
   */
  coalesceMs?: number;
  /**
   * While writing streams takes longer than that window, the hub waits
   * after each round of writes as long as the round took, up to this many
   * milliseconds, before the next (see #scheduleFlush). Default 0: no
   * such wait.
   */
  coalesceMaxMs?: number;
  /** Called once the memory a burst took (queued frames, recent events) has been let go: a full collection returns it (see MemoryRelease). */
  onRelease?: () => void;
}

export interface HubStats {
  streams: number;
  slowDisconnects: number;
  /** Socket writes of live frames; several frames to one stream in one turn make one write. */
  writes: number;
  /** Open groups whose frames are encoded once per turn (`encodeBatch`: console pages). */
  batchGroups: number;
  /** Output held for every stream together (the global bound's measure). */
  queuedBytes: number;
  /** Catch-up steps waiting for their turn of the event loop. */
  replaysWaiting: number;
  /** Catch-up pages sent from the recent events in memory, and read from the log. */
  replayPages: { memory: number; log: number };
}

export class TooManyStreams extends Error {}

const ALL = "*";
/** Writes, or bytes written, between two looks at the clock (see #flush). */
const FLUSH_CHECK_EVERY = 16;
const FLUSH_CHECK_BYTES = 256 * 1024;
/** Queues up to this size are flushed before larger ones (see #flush). */
const SMALL_QUEUE_BYTES = 64 * 1024;
const HEARTBEAT = new EncodedFrame(Buffer.from(encodeComment("keep-alive")));
const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;
const DEFAULT_RECENT_BYTES = 64 * 1024 * 1024;
const DEFAULT_RECENT_MAX_AGE_MS = 10_000;

/** `dirty` with the streams holding at most SMALL_QUEUE_BYTES first, each part in its order; itself when all are small. */
function smallQueuesFirst(dirty: Subscriber[]): Subscriber[] {
  let large = 0;
  for (const sub of dirty) if (sub.pendingBytes > SMALL_QUEUE_BYTES) large++;
  if (large === 0 || large === dirty.length) return dirty;
  return [...dirty.filter((sub) => sub.pendingBytes <= SMALL_QUEUE_BYTES), ...dirty.filter((sub) => sub.pendingBytes > SMALL_QUEUE_BYTES)];
}

/**
 * The fan-out: live subscribers grouped by tenant and selector. `publish`
 * is called synchronously right after each commit, in id order; frames are
 * queued per subscriber and flushed once per turn of the event loop. Batch
 * groups (`encodeBatch`) only collect their events in `publish`; they are
 * encoded in that later turn, one frame per group for the whole burst.
 * No SQL and no HTML here.
 */
export class Hub implements SubscriberOwner {
  readonly #groups = new Map<string, Map<string, Group>>();
  readonly #counts = new Map<string, number>();
  #dirty: Subscriber[] = [];
  /** Batch groups with pending events, oldest first: rendered in this order across turns. */
  readonly #toRender = new Set<Group>();
  #flushScheduled = false;
  /** When the last flush began (performance.now()). */
  #lastFlush = -Infinity;
  /** The loop's time spent by the flushes of the round under way (a round ends when nothing is left to write or render). */
  #roundMs = 0;
  /** No flush begins a round before this (performance.now()); one going on with a round does not wait. */
  #restUntil = -Infinity;
  #publishedHead = 0;
  #slowDisconnects = 0;
  #writes = 0;
  #closed = false;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #release: MemoryRelease | null;
  /** The global bound on queued output, shared by every subscriber. */
  readonly budget: QueueBudget;
  /** Grants catch-up replays their pages in round robin, a few milliseconds' worth per turn of the loop. */
  readonly replays: ReplayScheduler;
  /** The loop's time per turn, shared by replays, renders, writes and the log's fan-out. */
  readonly turn: TurnBudget;
  /** The few pages replays may read ahead at once, server-wide. */
  readonly readAhead = new ReadAheadSlots();
  /** The last events published, with their frames: replays close to the live edge read from here. */
  readonly recent: RecentEvents;
  /** Catch-up pages sent so far, by source (counted by catchUp). */
  readonly replayPages = { memory: 0, log: 0 };
  readonly stallMs: number;

  constructor(readonly options: HubOptions) {
    this.stallMs = options.stallMs ?? 2 * options.heartbeatMs;
    this.turn = options.turn ?? new TurnBudget();
    this.replays = new ReplayScheduler(this.turn);
    this.budget = new QueueBudget(options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES, options.pressureGraceMs ?? 1000, Date.now, () => this.turn.hasTime());
    this.recent = new RecentEvents(options.recentBytes ?? DEFAULT_RECENT_BYTES, options.recentMaxAgeMs ?? DEFAULT_RECENT_MAX_AGE_MS);
    const release = options.onRelease;
    let granted = this.replays.granted;
    const replaying = () => granted !== (granted = this.replays.granted);
    this.#release = release ? new MemoryRelease(() => this.recent.bytes + this.budget.total, release, undefined, replaying) : null;
    this.#heartbeat = setInterval(() => this.#beat(), options.heartbeatMs);
    this.#heartbeat.unref();
  }

  /** Highest id published so far; a catching-up subscriber goes live once it has read through it. */
  get publishedHead(): number {
    return this.#publishedHead;
  }

  /** Starts the hub at the log's current head (on boot). */
  setPublishedHead(id: number): void {
    this.#publishedHead = Math.max(this.#publishedHead, id);
    this.recent.startAt(this.#publishedHead);
  }

  /** Whether a tenant (or the admin scope, for null) may open one more stream. */
  hasCapacity(tenant: string | null): boolean {
    return this.#open(tenant ?? ALL) < this.options.maxStreamsPerTenant;
  }

  /** Streams open on this node per scope (a tenant, or "*" for admin streams): what a cluster's nodes tell each other. */
  openStreams(): ReadonlyMap<string, number> {
    return this.#counts;
  }

  /** A scope's open streams, on every node of a cluster. */
  #open(scope: string): number {
    return (this.#counts.get(scope) ?? 0) + (this.options.streamsElsewhere?.(scope) ?? 0);
  }

  /**
   * Registers a stream, catching up from `cursor`. It receives nothing live
   * until `goLive` is called; until then it reads from the log itself.
   * Throws TooManyStreams when the tenant is at its limit.
   */
  subscribe(selector: Selector, sink: Sink, cursor: number): Subscriber {
    const scope = selector.tenant ?? ALL;
    const count = this.#counts.get(scope) ?? 0;
    const open = this.#open(scope);
    if (open >= this.options.maxStreamsPerTenant) {
      throw new TooManyStreams(`tenant ${scope} already has ${open} open streams, the limit`);
    }
    let groups = this.#groups.get(scope);
    if (!groups) this.#groups.set(scope, (groups = new Map()));
    let group = groups.get(selector.key);
    if (!group) groups.set(selector.key, (group = { scope, selector, subscribers: new Set(), pending: [] }));
    const sub = new Subscriber(sink, group, cursor, this.options.maxBuffer, this.budget, this);
    group.subscribers.add(sub);
    this.#counts.set(scope, count + 1);
    return sub;
  }

  /** Delivers committed events (ascending ids) to every matching live subscriber. */
  publish(events: readonly StoredEvent[]): void {
    if (events.length === 0) return;
    this.#publishedHead = events[events.length - 1].id;
    const all = this.#groups.get(ALL);
    for (const e of events) {
      const entry = this.recent.push(e);
      const own = this.#groups.get(e.tenant);
      if (own) this.#deliver(own, entry);
      if (all) this.#deliver(all, entry);
    }
    this.#scheduleFlush();
  }

  /**
   * Flushes in the next turn, or, when streams were written less than
   * `coalesceMs` ago, once that much time has passed since. A burst of
   * small commits (single-event publishes, each its own group) then costs
   * each stream one write per window rather than one per commit: a write is
   * a system call, the larger part of a delivery's cost. A lone commit
   * after a quiet spell goes at once; a commit in a burst waits at most
   * `coalesceMs`. `now`: in the next turn whatever the window (what a
   * flush's budget left over).
   *
   * A round of writes to many streams takes longer than the window: a
   * thousand streams are a thousand system calls, 10–15 ms of the loop for
   * one event. Commits every 20 ms would then keep the loop writing most of
   * the time, one frame per write. So after a round the hub also waits as
   * long as the round took (at most `coalesceMaxMs`): while writes are
   * continuous they take about half of the loop, the other half is left to
   * requests, and the frames of the commits that land meanwhile go to each
   * stream in one write. At a thousand streams and 50 commits a second
   * that is about a sixth less CPU per delivery (bench/README, "Resting
   * after a round of writes"); a commit waits at most `coalesceMaxMs`
   * more, and only while the loop is that busy writing.
   */
  #scheduleFlush(now = false): void {
    if ((this.#dirty.length > 0 || this.#toRender.size > 0) && !this.#flushScheduled) {
      this.#flushScheduled = true;
      const wait = now ? 0 : Math.max(this.#lastFlush + (this.options.coalesceMs ?? 0), this.#restUntil) - performance.now();
      if (wait > 0) setTimeout(this.#flush, wait);
      else setImmediate(this.#flush);
    }
  }

  #deliver(groups: Map<string, Group>, entry: PublishedEvent): void {
    const e = entry.event;
    for (const group of groups.values()) {
      const { selector, subscribers } = group;
      if (subscribers.size === 0 || !selector.match(e)) continue;
      if (selector.encodeBatch) {
        group.pending.push(e);
        this.#toRender.add(group);
        continue;
      }
      // Encoded once per encoding: groups with other filters but the same frames share it, and so do replays.
      const frame = entry.frame(selector.encode);
      if (!frame) continue;
      for (const sub of subscribers) {
        if (sub.enqueue(frame, e.id)) this.#dirty.push(sub);
      }
    }
  }

  #flush = (): void => {
    this.#flushScheduled = false;
    this.#lastFlush = performance.now();
    this.#renderSlice();
    // A burst to a thousand streams is a thousand writes of up to a megabyte each, copied by the kernel
    // (about a millisecond a megabyte): they go as much as the turn's budget allows, the clock read every few
    // writes or sooner after large ones, and the rest on the next turn. Streams with little queued go first:
    // another tenant's one event does not wait behind the megabytes a burst queued for a thousand streams
    // (each stream's frames keep their order whatever the order of streams).
    const dirty = smallQueuesFirst(this.#dirty);
    this.#dirty = [];
    const joins = new FrameJoins();
    let i = 0;
    let bytes = 0;
    while (i < dirty.length) {
      bytes += dirty[i++].flush(joins);
      if (i % FLUSH_CHECK_EVERY === 0 || bytes >= FLUSH_CHECK_BYTES) {
        bytes = 0;
        if (!this.turn.hasTime()) break;
      }
    }
    this.#writes += i;
    // Nothing is published while this runs: the streams left over are the only dirty ones, and still have their queues.
    if (i < dirty.length) this.#dirty = dirty.slice(i);
    const end = performance.now();
    this.#roundMs += end - this.#lastFlush;
    if (this.#dirty.length === 0 && this.#toRender.size === 0) {
      this.#restUntil = end + Math.min(this.#roundMs, this.options.coalesceMaxMs ?? 0);
      this.#roundMs = 0;
    }
    // What the budget left over (streams, console renders) goes on in the next turn, not a window later.
    this.#scheduleFlush(true);
  };

  /**
   * Renders queued batch groups, oldest first, while the turn's budget lasts
   * (at least one group); the rest wait for the next turn, so requests, JSON
   * streams and acknowledgements interleave with a burst of console renders
   * instead of queueing behind it.
   */
  #renderSlice(): void {
    this.turn.hasTime();
    for (const group of this.#toRender) {
      this.#toRender.delete(group);
      this.#render(group);
      if (!this.turn.hasTime()) return;
    }
  }

  #render(group: Group): void {
    const events = group.pending;
    group.pending = [];
    if (events.length === 0 || group.subscribers.size === 0) return;
    const last = events[events.length - 1].id;
    // Usually every live subscriber needs the whole run. One that went live after some of it was
    // published has read those events from the log already: it gets a frame of the rest only.
    const byStart = new Map<number, Subscriber[]>();
    for (const sub of group.subscribers) {
      if (sub.state !== "live" || sub.cursor >= last) continue;
      const start = sub.cursor < events[0].id ? 0 : events.findIndex((e) => e.id > sub.cursor);
      const subs = byStart.get(start);
      if (subs) subs.push(sub);
      else byStart.set(start, [sub]);
    }
    for (const [start, subs] of byStart) {
      let text: string | null;
      try {
        text = group.selector.encodeBatch!(start === 0 ? events : events.slice(start));
      } catch {
        // The selector reports its own failure; its streams end cleanly and resume from the log.
        for (const sub of subs) sub.close("shutdown");
        continue;
      }
      if (!text) continue;
      const frame = new EncodedFrame(Buffer.from(text));
      for (const sub of subs) {
        if (sub.enqueue(frame, last)) this.#dirty.push(sub);
      }
    }
  }

  #beat(): void {
    // Streams that have held output without draining since the last beats are stalled clients.
    this.budget.cutStalled(this.stallMs);
    for (const groups of this.#groups.values()) {
      for (const { subscribers } of groups.values()) {
        for (const sub of subscribers) {
          // A stream with output still queued is not quiet: its bytes keep proxies from timing it out.
          if (sub.state === "live" && !sub.wrote && sub.queuedBytes === 0) sub.writeNow(HEARTBEAT);
          sub.wrote = false;
        }
      }
    }
  }

  /** Called by a subscriber as it closes. */
  detach(sub: Subscriber, group: Group, reason: CloseReason): void {
    const scope = group.scope;
    if (!group.subscribers.delete(sub)) return;
    this.#counts.set(scope, (this.#counts.get(scope) ?? 1) - 1);
    if (reason === "slow") this.#slowDisconnects++;
    if (group.subscribers.size === 0) this.#groups.get(scope)?.delete(group.selector.key);
  }

  /** Whether a group with this key is open for the tenant (null: the admin scope); joining it adds no group. */
  hasGroup(tenant: string | null, key: string): boolean {
    return this.#groups.get(tenant ?? ALL)?.has(key) ?? false;
  }

  /** Open batch groups (`encodeBatch`) of one tenant, or of the admin scope for null. */
  batchGroupCount(tenant: string | null): number {
    let n = 0;
    for (const { selector } of this.#groups.get(tenant ?? ALL)?.values() ?? []) if (selector.encodeBatch) n++;
    return n;
  }

  stats(): HubStats {
    let streams = 0;
    for (const n of this.#counts.values()) streams += n;
    let batchGroups = 0;
    for (const scope of this.#groups.keys()) batchGroups += this.batchGroupCount(scope === ALL ? null : scope);
    return {
      streams,
      slowDisconnects: this.#slowDisconnects,
      writes: this.#writes,
      batchGroups,
      queuedBytes: this.budget.total,
      replaysWaiting: this.replays.waiting,
      replayPages: { ...this.replayPages },
    };
  }

  /** True once closeAll ran: the server is stopping and takes no new streams. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Ends every stream cleanly (shutdown). */
  closeAll(): void {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.recent.stop();
    this.#release?.stop();
    for (const groups of [...this.#groups.values()]) {
      for (const { subscribers } of [...groups.values()]) {
        for (const sub of [...subscribers]) sub.close("shutdown");
      }
    }
  }
}
