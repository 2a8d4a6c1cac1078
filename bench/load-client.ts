/**
 * A load-client worker, forked by run.ts: holds a share of the SSE
 * subscriber connections (sse-subscribers.ts), or publishes (publisher.ts),
 * or replays (replay-client.ts), or holds stalled streams
 * (stalled-consumers.ts), or probes as a second tenant (probe.ts), as the
 * orchestrator commands over IPC.
 * Workers share the machine's two cores with the server being measured, so
 * every byte of work here is work the server does not get; run.ts reports
 * the workers' CPU next to the server's.
 */
import { probeClose, probeOpen, probeStart, probeStop } from "./probe.js";
import { ingest, publish } from "./publisher.js";
import type { Command, Reply, Request } from "./protocol.js";
import { replay } from "./replay-client.js";
import { closeAllGroups, closeGroup, groupOf, subscribe, waitFor } from "./sse-subscribers.js";
import { stall, unstall } from "./stalled-consumers.js";

async function handle(cmd: Command): Promise<unknown> {
  switch (cmd.op) {
    case "subscribe":
      return subscribe(cmd);
    case "reset":
      if (cmd.group !== undefined) groupOf(cmd.group).reset();
      return null;
    case "waitFor":
      return waitFor(groupOf(cmd.group), cmd.id, cmd.timeoutMs);
    case "close":
      return cmd.group === undefined ? closeAllGroups() : closeGroup(cmd.group);
    case "publish":
      return publish(cmd);
    case "ingest":
      return ingest(cmd);
    case "replay":
      return replay(cmd);
    case "stall":
      return stall(cmd);
    case "unstall":
      return unstall();
    case "probeOpen":
      return probeOpen(cmd);
    case "probeStart":
      return probeStart(cmd);
    case "probeStop":
      return probeStop(cmd);
    case "probeClose":
      return probeClose();
    case "guard":
      guarded = cmd.pids;
      return null;
  }
}

if (!process.send) {
  console.error("load-client.ts is a worker: run.ts forks it with an IPC channel");
  process.exit(2);
}

process.on("message", (msg: Request) => {
  handle(msg).then(
    (result) => process.send!({ reqId: msg.reqId, ok: true, result } satisfies Reply),
    (err: Error) => process.send!({ reqId: msg.reqId, ok: false, error: err?.stack ?? String(err) } satisfies Reply),
  );
});

/** Servers the orchestrator started; see the disconnect handler. */
let guarded: number[] = [];

// The orchestrator gone (crash, SIGKILL) means nobody will ever close these sockets or stop its
// servers: stop the servers it named (a no-op when it already did), then leave.
process.on("disconnect", () => {
  for (const pid of guarded) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  process.exit(0);
});
