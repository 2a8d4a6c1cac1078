/**
 * The disk's own commit latency, as context for Switchboard's publish
 * latency: with `synchronous=FULL` every commit waits for an fsync, and on a
 * shared VM disk the fsync tail (tens to hundreds of ms, now and then) sets
 * a floor under our p99 that the in-memory floor server never sees. This
 * commits one row at a time on a bare better-sqlite3 database, in WAL mode,
 * in the same directory the bench gives Switchboard, at the steady rate.
 */
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Histogram } from "./histogram.js";

export interface DiskProbe {
  commits: number;
  ratePerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Commits that took longer than 50 ms. */
  over50ms: number;
}

export async function probeDisk(seconds: number, ratePerSec: number): Promise<DiskProbe> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "switchboard-bench-disk-"));
  const db = new Database(path.join(dir, "probe.db"));
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.exec("CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL)");
    const insert = db.prepare("INSERT INTO events (data) VALUES (?)");
    const row = '{"type":"bench.tick","subject":"s1","data":{"seq":0}}';
    const hist = new Histogram();
    let over = 0;
    const count = Math.max(1, Math.round(seconds * ratePerSec));
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const wait = t0 + (i * 1000) / ratePerSec - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const s = performance.now();
      insert.run(row);
      const ms = performance.now() - s;
      hist.record(ms * 1000);
      if (ms > 50) over++;
    }
    return { commits: count, ratePerSec, p50Ms: hist.quantileUs(0.5) / 1000, p99Ms: hist.quantileUs(0.99) / 1000, maxMs: hist.maxUs / 1000, over50ms: over };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
