/**
 * How much one console tab moves under the operator during the demo: a
 * quick measurement, not a scenario of `npm run bench`. Runs `npm run demo`
 * of a checkout (default: this one), opens the console in headless
 * Chromium at 1366 × 860, and adds up the layout shifts it reports for a
 * while (the score, not windowed), all of them and those inside the
 * activity feed; then leaves screenshots at 1366 and 390 px wide.
 *
 *   npx tsx bench/console-layout-shift.ts [checkout-dir] [seconds=60] [out-dir=test/artifacts]
 */
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const checkout = resolve(process.argv[2] ?? ".");
const seconds = Number(process.argv[3] ?? 60);
const out = resolve(process.argv[4] ?? "test/artifacts");

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function main(): Promise<void> {
  mkdirSync(out, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const demo = spawn(process.execPath, ["--import", "tsx", "src/demo.ts", "--port", String(port), "--duration", String(seconds + 60)], {
    cwd: checkout,
    env: { ...process.env, NO_COLOR: "1", LOG_LEVEL: "error" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const key = await new Promise<string>((done, fail) => {
    createInterface({ input: demo.stdout! }).on("line", (line) => {
      const m = /\/login#key=(sb_[A-Za-z0-9_-]+)/.exec(line);
      if (m) done(m[1]);
    });
    demo.once("exit", () => fail(new Error("the demo exited before printing its key")));
  });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-gpu"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
    await page.goto(`${url}/login#key=${key}`);
    await page.waitForURL(/\/t\/demo/);
    await page.waitForSelector('#connection[data-state="live"]');
    // Warm up: the producers connect and the first workflows start.
    await page.waitForTimeout(10_000);
    await page.evaluate(() => {
      const w = window as unknown as { __shift: { all: number; feed: number; count: number } };
      w.__shift = { all: 0, feed: 0, count: 0 };
      const feed = document.querySelector(".feed");
      new PerformanceObserver((list) => {
        for (const e of list.getEntries() as unknown as { value: number; hadRecentInput: boolean; sources: { node?: Node }[] }[]) {
          if (e.hadRecentInput) continue;
          w.__shift.all += e.value;
          w.__shift.count++;
          if (e.sources.some((s) => s.node && feed?.contains(s.node))) w.__shift.feed += e.value;
        }
      }).observe({ type: "layout-shift" });
    });
    await page.waitForTimeout(seconds * 1000);
    const shift = await page.evaluate(() => (window as unknown as { __shift: { all: number; feed: number; count: number } }).__shift);
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    console.log(`checkout ${checkout}, ${seconds} s of the demo, one console tab at 1366 × 860`);
    console.log(`  layout shift: ${shift.all.toFixed(3)} in ${shift.count} shifts; inside the activity feed: ${shift.feed.toFixed(3)}; page height ${height} px`);
    await page.screenshot({ path: resolve(out, "demo-console.png") });
    await page.screenshot({ path: resolve(out, "demo-console-full.png"), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: resolve(out, "demo-console-phone.png"), fullPage: true });
  } finally {
    await browser.close();
    demo.kill("SIGTERM");
    await new Promise((r) => demo.once("exit", r));
  }
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
