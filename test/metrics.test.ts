import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support/server.js";

/** Every value of a Prometheus text exposition, by series name (labels dropped: these series have none). */
function samples(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-z_:][a-z0-9_:]*)(?:\{[^}]*\})? (\S+)$/i.exec(line);
    if (m) values.set(m[1], Number(m[2]));
  }
  return values;
}

/**
 * /metrics shows how well the event loop keeps up (prom-client's default
 * Node metrics), so an operator sees a stall as it happens: the delay's
 * percentiles and maximum since the previous scrape.
 */
describe("/metrics", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it("exposes the event loop's delay: current lag, min, max, mean, p50, p90 and p99, in seconds", async () => {
    const names = ["", "_min", "_max", "_mean", "_stddev", "_p50", "_p90", "_p99"].map((s) => `nodejs_eventloop_lag${s}_seconds`);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await res.text();
    for (const name of names) expect(text).toContain(`# TYPE ${name} gauge`);
    // The delay histogram fills as the loop turns, and each scrape starts it afresh: once a scrape finds samples,
    // every value in it is a real number of seconds.
    // A scrape that finds no samples (one right after another) reports NaN for the mean and stddev: poll for one that does.
    let values = new Map<string, number>();
    await expect
      .poll(async () => {
        values = samples(await (await fetch(`${server.url}/metrics`)).text());
        return names.filter((name) => !Number.isFinite(values.get(name)));
      }, { timeout: 10_000, interval: 50 })
      .toEqual([]);
    expect(values.get("nodejs_eventloop_lag_p99_seconds")!).toBeGreaterThan(0);
    expect(values.get("nodejs_eventloop_lag_max_seconds")!).toBeGreaterThanOrEqual(values.get("nodejs_eventloop_lag_p50_seconds")!);
  });
});
