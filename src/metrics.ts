import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Hub } from "./hub/hub.js";
import type { EventLog } from "./store/event-log.js";

/**
 * Prometheus metrics. Counters on the hot paths are plain numbers read at
 * scrape time (collect), so publishing and fan-out pay nothing for them.
 */
export function createMetrics(hub: Hub, log: EventLog): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const appended = new Counter({ name: "switchboard_events_appended_total", help: "Events appended to the log", registers: [registry] });
  const groupSize = new Histogram({
    name: "switchboard_commit_group_events",
    help: "Events committed per group commit (one fsync each)",
    buckets: [1, 10, 100, 1000, 10000],
    registers: [registry],
  });
  log.onCommit((events) => {
    appended.inc(events.length);
    groupSize.observe(events.length);
  });

  new Gauge({
    name: "switchboard_log_head",
    help: "Highest event id in the log",
    registers: [registry],
    collect() {
      this.set(log.head());
    },
  });
  new Gauge({
    name: "switchboard_streams_open",
    help: "Open SSE streams",
    registers: [registry],
    collect() {
      this.set(hub.stats().streams);
    },
  });
  new Gauge({
    name: "switchboard_console_page_groups",
    help: "Groups of identically filtered console pages open; each renders once per burst of events for all its pages",
    registers: [registry],
    collect() {
      this.set(hub.stats().batchGroups);
    },
  });
  new Gauge({
    name: "switchboard_stream_queued_bytes",
    help: "Unsent output held for every SSE stream together (bounded by SSE_MAX_QUEUED_BYTES)",
    registers: [registry],
    collect() {
      this.set(hub.stats().queuedBytes);
    },
  });
  new Gauge({
    name: "switchboard_stream_replays_waiting",
    help: "Catch-up replay steps waiting for their turn of the event loop",
    registers: [registry],
    collect() {
      this.set(hub.stats().replaysWaiting);
    },
  });
  new Counter({
    name: "switchboard_slow_consumer_disconnects_total",
    help: "Streams closed because they stopped draining (stalled), or held output the global bound needed",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(hub.stats().slowDisconnects);
    },
  });
  new Counter({
    name: "switchboard_stream_writes_total",
    help: "Socket writes of live frames (frames to one stream in one turn are coalesced into one write)",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(hub.stats().writes);
    },
  });
  new Counter({
    name: "switchboard_stream_replay_pages_total",
    help: "Catch-up pages sent, by where they came from: the recently published events kept in memory, or the log",
    labelNames: ["source"],
    registers: [registry],
    collect() {
      this.reset();
      const { replayPages } = hub.stats();
      this.inc({ source: "memory" }, replayPages.memory);
      this.inc({ source: "log" }, replayPages.log);
    },
  });
  return registry;
}
