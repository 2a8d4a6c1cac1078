import { describe, expect, it } from "vitest";
import { ascending, descending, listPanel } from "../src/console/live-list.js";
import type { PanelContext } from "../src/console/panels.js";
import type { StoredEvent } from "../src/event.js";
import { PageModel } from "./support/console.js";
import { seeded } from "./support/random.js";

/** A job as a tiny domain keeps it: running (newest first, at most 3 shown) or done (last finished first, at most 2). */
interface Job {
  id: string;
  state: "running" | "done";
  started: number;
  finished: number;
  progress: number;
}

const RUNNING_MAX = 3;
const DONE_MAX = 2;

/** A panel over `jobs` as listPanel makes it, with the markup a page would hold. */
function jobsPanel(jobs: Map<string, Job>) {
  const running = () => [...jobs.values()].filter((j) => j.state === "running").sort((a, b) => b.started - a.started).slice(0, RUNNING_MAX);
  const done = () => [...jobs.values()].filter((j) => j.state === "done").sort((a, b) => b.finished - a.finished).slice(0, DONE_MAX);
  const order = (j: Job) => (j.state === "running" ? descending(j.started) : descending(j.finished));
  const progress = (j: Job) => `<span id="job-${j.id}-p">${j.progress}%</span>`;
  const item = (j: Job) => `<li id="job-${j.id}" data-order="${order(j)}">${j.id} ${j.state} ${progress(j)}</li>`;
  const count = () => `<span id="jobs-count">${[...jobs.values()].filter((j) => j.state === "running").length}</span>`;
  const panel = listPanel<Job>({
    id: "jobs",
    topics: ["job"],
    render: () => `<div id="jobs"><ul id="running" class="live-list" data-max="${RUNNING_MAX}">${running().map(item).join("")}</ul><ul id="done" class="live-list" data-max="${DONE_MAX}">${done().map(item).join("")}</ul>${count()}</div>`,
    lists: [
      { id: "running", members: running, max: RUNNING_MAX, leaves: ["job.done"] },
      { id: "done", members: done, max: DONE_MAX },
    ],
    key: (j) => j.id,
    itemId: (id) => `job-${id}`,
    item: (_ctx, j) => item(j),
    parts: [{ id: "jobs-count", render: count }],
    ticks: ["job.progress"],
    tickPart: (_ctx, j) => ({ id: `job-${j.id}-p`, html: progress(j) }),
  });
  return panel;
}

describe("listPanel", () => {
  it("leaves bounded lists as a fresh render shows them: items moved, trimmed, refilled when one leaves, ticks as their part", () => {
    const ctx = {} as PanelContext;
    for (const seed of [1, 2, 3, 4, 5]) {
      const random = seeded(seed);
      const jobs = new Map<string, Job>();
      const panel = jobsPanel(jobs);
      const page = new PageModel().load(panel.render(ctx), ["jobs-count"]);
      let id = 0;
      let clock = 0;
      for (let step = 0; step < 200; step++) {
        // A run of up to three events, applied to the state as the log's projection would, then rendered once.
        const events: StoredEvent[] = [];
        for (let i = Math.floor(random() * 3); i >= 0; i--) {
          const running = [...jobs.values()].filter((j) => j.state === "running");
          const r = random();
          const e = { id: ++id, tenant: "t", ts: ++clock, data: "{}", key: null } as const;
          if (r < 0.35 || running.length === 0) {
            jobs.set(`j${id}`, { id: `j${id}`, state: "running", started: clock, finished: 0, progress: 0 });
            events.push({ ...e, type: "job.started", subject: `j${id}` });
          } else if (r < 0.7) {
            const job = running[Math.floor(random() * running.length)];
            job.progress = Math.floor(random() * 100);
            events.push({ ...e, type: "job.progress", subject: job.id });
          } else {
            const job = running[Math.floor(random() * running.length)];
            Object.assign(job, { state: "done", finished: clock });
            events.push({ ...e, type: "job.done", subject: job.id });
          }
        }
        page.apply([{ data: panel.update!(ctx, events).join("\n") }]);
        const fresh = new PageModel().load(panel.render(ctx), ["jobs-count"]);
        for (const list of ["running", "done"]) {
          expect(page.lists.get(list), `seed ${seed}, step ${step}, #${list}`).toEqual(fresh.lists.get(list));
        }
        expect(page.targets.get("jobs-count")).toBe(fresh.targets.get("jobs-count"));
      }
    }
  });

  it("sends a tick as the item's part alone, and nothing for the counts", () => {
    const jobs = new Map<string, Job>([["a", { id: "a", state: "running", started: 1, finished: 0, progress: 10 }]]);
    const panel = jobsPanel(jobs);
    jobs.get("a")!.progress = 20;
    const parts = panel.update!({} as PanelContext, [{ id: 2, tenant: "t", ts: 2, type: "job.progress", subject: "a", data: "{}", key: null }]);
    expect(parts).toEqual(['<hx-partial hx-target="#job-a-p" hx-swap="outerMorph"><span id="job-a-p">20%</span></hx-partial>']);
  });

  it("writes order keys that sort as their numbers, ascending or descending", () => {
    const xs = [0, 9, 10, 1_700_000_000_000, 42];
    expect(xs.map(ascending).sort()).toEqual([...xs].sort((a, b) => a - b).map(ascending));
    expect(xs.map(descending).sort()).toEqual([...xs].sort((a, b) => b - a).map(descending));
  });
});
