/**
 * Demo producer: a workflow runner (worker `runner-1`).
 *
 * Every so often it starts a multi-stage workflow ("Onboard Northwind":
 * import → enrich → notify, "Nightly billing run", "Re-index knowledge
 * base"…), reports its progress stage by stage, and completes it — or fails
 * a step, usually as retryable (then it retries the workflow once on its
 * own, `workflow.retried`), rarely not. At most `--max` (3) run at once.
 *
 * It holds its command stream (its presence) and obeys
 * `workflow.control_requested`: pause → stops progressing and confirms
 * `workflow.paused`; resume → `workflow.resumed` and goes on; cancel →
 * `workflow.cancelled` (with the operator's reason) and stops; retry of a
 * failed or cancelled workflow → `workflow.retried` and runs it again from
 * the start. Handling is idempotent: a control the workflow's state makes
 * moot is ignored, and a 409 is logged, never fatal.
 *
 * It uses only Switchboard's public HTTP API. Every event carries an
 * idempotency key derived from the workflow and its step (or the command it
 * answers), and a workflow's course is derived from its id, so a retried
 * publish or a replayed command appends nothing twice. Each attempt has its
 * own course and keys (a retry is not a replay of the first run).
 *
 *   SWITCHBOARD_KEY=sb_… npm run producer:workflows -- --url http://localhost:3000 [--tenant demo]
 *        [--speed 1] [--max 3]
 *
 * On start it reads the workflows (`GET …/workflows`), resumes the running
 * and paused ones it owns (and answers a control that was waiting for it),
 * then follows its command stream from that state's `head`; the client
 * resumes the stream with Last-Event-ID after a drop or a server restart.
 */
import { randomBytes } from "node:crypto";
import { runProducer, sleep, type Command, type EventInput, type SwitchboardClient } from "./client.js";
import { seeded } from "./random.js";

const WORKER = "runner-1";


const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const n = (x: number) => x.toLocaleString("en-US");

interface Template {
  name: (rand: () => number) => string;
  stages: string[];
  /** Items the workflow works through, e.g. contacts. */
  size: [number, number];
  /** What a stage is doing, with `done` of `total` items. */
  task: Record<string, (done: number, total: number) => string>;
  retryable: string[];
  fatal: string[];
}

const COMPANIES = ["Northwind", "Contoso", "Globex", "Initech", "Umbrella Health", "Acme Retail", "Wayne Logistics", "Stark Foods"];

const TEMPLATES: Template[] = [
  {
    name: (r) => `Onboard ${pick(r, COMPANIES)}`,
    stages: ["import", "enrich", "notify"],
    size: [300, 2500],
    task: {
      import: (d, t) => `Importing contacts from CSV (${n(d)} of ${n(t)})`,
      enrich: (d, t) => `Enriching ${n(t)} contacts (${n(d)} done)`,
      notify: (d, t) => `Sending welcome e-mails (${n(d)} of ${n(t)})`,
    },
    retryable: ["Enrichment API timed out after 30 s (HTTP 504)", "SMTP relay rate limit reached (421); try again later"],
    fatal: ["CSV row 418: the e-mail column is missing"],
  },
  {
    name: () => "Nightly billing run",
    stages: ["collect-usage", "invoice", "charge", "receipts"],
    size: [120, 900],
    task: {
      "collect-usage": (d, t) => `Collecting usage for ${n(t)} accounts (${n(d)} done)`,
      invoice: (d, t) => `Generating invoices (${n(d)} of ${n(t)})`,
      charge: (d, t) => `Charging cards (${n(d)} of ${n(t)})`,
      receipts: (d, t) => `E-mailing receipts (${n(d)} of ${n(t)})`,
    },
    retryable: ["Payment gateway rate limited the run (HTTP 429)", "Database deadlock while writing invoices"],
    fatal: ["Payment gateway rejected the API key (HTTP 401)"],
  },
  {
    name: () => "Re-index knowledge base",
    stages: ["crawl", "chunk", "embed", "publish"],
    size: [400, 4000],
    task: {
      crawl: (d, t) => `Crawling help-center articles (${n(d)} of ${n(t)})`,
      chunk: (d, t) => `Splitting ${n(t)} articles into passages (${n(d)} done)`,
      embed: (d, t) => `Embedding passages (${n(d)} of ${n(t)})`,
      publish: (d, t) => `Verifying the new index before the swap (${n(d)} of ${n(t)} articles)`,
    },
    retryable: ["Embedding service unavailable (HTTP 503)", "Crawler timed out on help.example.com"],
    fatal: ["Index schema version 7 is not supported by this runner"],
  },
  {
    name: (r) => `Sync CRM contacts — ${pick(r, COMPANIES)}`,
    stages: ["fetch", "dedupe", "upsert"],
    size: [800, 6000],
    task: {
      fetch: (d, t) => `Fetching contacts from the CRM (${n(d)} of ${n(t)})`,
      dedupe: (d, t) => `Merging duplicates among ${n(t)} contacts (${n(d)} checked)`,
      upsert: (d, t) => `Writing contacts (${n(d)} of ${n(t)})`,
    },
    retryable: ["CRM API returned 502 Bad Gateway"],
    fatal: ["CRM OAuth grant was revoked by the customer"],
  },
  {
    name: () => "Export call recordings",
    stages: ["list", "transcode", "upload"],
    size: [40, 400],
    task: {
      list: (d, t) => `Listing yesterday's recordings (${n(d)} of ${n(t)})`,
      transcode: (d, t) => `Transcoding to MP3 (${n(d)} of ${n(t)})`,
      upload: (d, t) => `Uploading to the archive bucket (${n(d)} of ${n(t)})`,
    },
    retryable: ["Upload to the archive bucket timed out"],
    fatal: ["Archive bucket does not exist (NoSuchBucket)"],
  },
];
const templateOf = (stages: string[]) => TEMPLATES.find((t) => t.stages.join("/") === stages.join("/"));

interface Tick {
  progress: number;
  stage: string;
  task: string;
}
interface Plan {
  ticks: Tick[];
  /** Fails at this tick (before reporting it), or runs to the end. */
  failure?: { at: number; reason: string; retryable: boolean };
}

/** A workflow's whole course, from its id, attempt and template: the same on every run, so keys and outcomes match on a replay. */
function planFor(id: string, attempt: number, template: Template): Plan {
  const rand = seeded(attempt === 1 ? `plan:${id}` : `plan:${id}#${attempt}`);
  const [lo, hi] = template.size;
  const total = Math.round(lo + rand() * (hi - lo));
  const ticks: Tick[] = [];
  template.stages.forEach((stage, si) => {
    const count = 2 + Math.floor(rand() * 3);
    for (let k = 1; k <= count; k++) {
      const done = k === count ? total : Math.round((total * k) / count - rand() * (total / count / 3));
      const progress = Math.round(((si + k / count) / template.stages.length) * 1000) / 1000;
      ticks.push({ progress: Math.min(progress, 1), stage, task: template.task[stage](done, total) });
    }
  });
  const roll = rand();
  const at = 1 + Math.floor(rand() * (ticks.length - 1));
  if (roll < 0.03) return { ticks, failure: { at, reason: pick(rand, template.fatal), retryable: false } };
  if (roll < 0.2) return { ticks, failure: { at, reason: pick(rand, template.retryable), retryable: true } };
  return { ticks };
}

interface WorkflowRow {
  workflow_id: string;
  name: string;
  stages: string[];
  progress: number;
  state: "running" | "paused" | "completed" | "failed" | "cancelled";
  worker: string | null;
  pending_action: "pause" | "resume" | "cancel" | "retry" | null;
  pending_event_id: number | null;
  pending_reason: string | null;
  attempt: number;
}

interface Run {
  id: string;
  name: string;
  /** 1, then one more per retry: each attempt has its own plan and keys. */
  attempt: number;
  plan: Plan;
  /** The next tick to report. */
  tick: number;
  state: "running" | "paused" | "done";
  /** Wakes the loop (a resume, a cancel). */
  wake: () => void;
  /** Its publishes, one at a time: a control never lands between a state check and the progress it allowed. */
  chain: Promise<unknown>;
}

async function workflowRunner(client: SwitchboardClient, flags: Record<string, string>, signal: AbortSignal): Promise<void> {
  const speed = Number(flags.speed ?? 1);
  if (!(speed > 0)) throw new Error("--speed must be a positive number");
  const max = Math.max(1, Number(flags.max ?? 3));
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const wait = (ms: number) => sleep(ms / speed, signal);
  const between = (min: number, max: number) => min + Math.random() * (max - min);

  const runs = new Map<string, Run>();
  const handled = new Set<number>();

  const serial = <T>(run: Run, fn: () => Promise<T>): Promise<T> => {
    const next = run.chain.then(fn, fn);
    run.chain = next.catch(() => {});
    return next;
  };

  const send = (event: EventInput) => client.publishUntilCommitted(event, signal);

  /** After a refusal: take the state the server has for the workflow. */
  async function refresh(run: Run): Promise<void> {
    try {
      const { workflow } = (await client.get(`/workflows/${encodeURIComponent(run.id)}`)) as { workflow: WorkflowRow };
      run.state = workflow.state === "running" ? "running" : workflow.state === "paused" ? "paused" : "done";
      run.wake();
    } catch (err) {
      log(`could not read workflow ${run.id}: ${(err as Error).message}`);
    }
  }

  /** Takes a workflow in hand (a new one, one that was running before a restart, or one retried) and runs it. */
  function adopt(id: string, name: string, template: Template, state: "running" | "paused", progress = 0, attempt = 1): Run {
    const plan = planFor(id, attempt, template);
    const next = plan.ticks.findIndex((t) => t.progress > progress + 1e-9);
    const run: Run = { id, name, attempt, plan, tick: next === -1 ? plan.ticks.length : next, state, wake: () => {}, chain: Promise.resolve() };
    runs.set(id, run);
    // A retried workflow is a new run under the same id: the old one's end must not drop it.
    void drive(run, template).finally(() => runs.get(id) === run && runs.delete(id));
    return run;
  }

  /** The keys of a run's events: the first attempt's as they always were, a retry's its own. */
  const keyBase = (run: Pick<Run, "id" | "attempt">) => (run.attempt === 1 ? `${WORKER}:${run.id}` : `${WORKER}:${run.id}:a${run.attempt}`);

  async function drive(run: Run, template: Template): Promise<void> {
    while (!signal.aborted && run.state !== "done") {
      if (run.state === "paused") {
        await new Promise<void>((resolve) => {
          const done = () => (signal.removeEventListener("abort", done), (run.wake = () => {}), resolve());
          run.wake = done;
          signal.addEventListener("abort", done, { once: true });
        });
        continue;
      }
      await wait(between(1200, 3500));
      await serial(run, async () => {
        if (run.state !== "running" || signal.aborted) return;
        const base = keyBase(run);
        const { failure, ticks } = run.plan;
        if (failure && run.tick === failure.at) {
          run.state = "done";
          const ok = await send({ type: "workflow.failed", subject: run.id, data: { reason: failure.reason, retryable: failure.retryable }, key: `${base}:failed` });
          if (ok === null) return refresh(run);
          log(`${run.id} "${run.name}" failed (${failure.retryable ? "retryable" : "not retryable"}): ${failure.reason}`);
          if (failure.retryable && run.attempt === 1) void retryOnItsOwn(run, template);
          return;
        }
        if (run.tick >= ticks.length) {
          run.state = "done";
          if ((await send({ type: "workflow.completed", subject: run.id, data: {}, key: `${base}:completed` })) === null) return refresh(run);
          log(`${run.id} "${run.name}" completed`);
          return;
        }
        const t = ticks[run.tick];
        if ((await send({ type: "workflow.progress", subject: run.id, data: { ...t }, key: `${base}:tick:${run.tick}` })) === null) return refresh(run);
        run.tick++;
      });
    }
  }

  /** A retryable failure: the runner tries the workflow once more on its own, unless an operator has already retried it. */
  async function retryOnItsOwn(failed: Run, template: Template): Promise<void> {
    await wait(between(3000, 6000));
    if (signal.aborted) return;
    await rerun(failed.id, template, `${keyBase(failed)}:retried`, "on its own");
  }

  /**
   * Runs a failed or cancelled workflow of this runner again from the start:
   * `workflow.retried`, then a new run (the next attempt). Moot when the
   * workflow is not failed or cancelled any more (another retry came first).
   */
  async function rerun(id: string, template: Template, key: string, why: string): Promise<void> {
    let row: WorkflowRow;
    try {
      row = ((await client.get(`/workflows/${encodeURIComponent(id)}`)) as { workflow: WorkflowRow }).workflow;
    } catch (err) {
      return log(`retry of ${id} ignored: ${(err as Error).message}`);
    }
    if (row.state !== "failed" && row.state !== "cancelled") return log(`retry of ${id} ignored: it is ${row.state}`);
    const data = { stage: template.stages[0], task: "Queued" };
    if ((await send({ type: "workflow.retried", subject: id, data, key })) === null) return log(`retry of ${id} refused`);
    log(`${id} "${row.name}" retried ${why} (attempt ${row.attempt + 1})`);
    adopt(id, row.name, template, "running", 0, row.attempt + 1);
  }

  async function start(id: string, name: string, template: Template): Promise<void> {
    const data = { name, stages: template.stages, worker: WORKER, stage: template.stages[0], task: "Queued" };
    if ((await send({ type: "workflow.started", subject: id, data, key: `${WORKER}:${id}:started` })) === null) return;
    log(`${id} "${name}" started`);
    if (!runs.has(id)) adopt(id, name, template, "running");
  }

  /** A pause, resume, cancel or retry for one of this runner's workflows. Idempotent: a moot control is ignored. */
  async function control(id: string, action: string, command: number, reason: string | null): Promise<void> {
    let run = runs.get(id);
    if (action === "retry") {
      if (run && run.state !== "done") return log(`retry of ${id} ignored: it is ${run.state} (command ${command})`);
      let row: WorkflowRow;
      try {
        row = ((await client.get(`/workflows/${encodeURIComponent(id)}`)) as { workflow: WorkflowRow }).workflow;
      } catch (err) {
        return log(`retry of ${id} ignored: ${(err as Error).message}`);
      }
      const template = templateOf(row.stages);
      if (row.worker !== WORKER || !template) return log(`retry of ${id} ignored: ${row.worker !== WORKER ? `it is run by ${row.worker}` : "its stages are unknown here"}`);
      return rerun(id, template, `${WORKER}:${id}:${command}:retry`, `by an operator (command ${command})`);
    }
    if (!run) {
      // Not in hand (finished, or never ours): ask the server; adopt it if it is ours and still active.
      let row: WorkflowRow;
      try {
        row = ((await client.get(`/workflows/${encodeURIComponent(id)}`)) as { workflow: WorkflowRow }).workflow;
      } catch (err) {
        return log(`${action} of ${id} ignored: ${(err as Error).message}`);
      }
      const template = templateOf(row.stages);
      if (row.worker !== WORKER || (row.state !== "running" && row.state !== "paused") || !template) {
        return log(`${action} of ${id} ignored: it is ${row.state}${row.worker !== WORKER ? `, run by ${row.worker}` : ""}`);
      }
      run = runs.get(id) ?? adopt(id, row.name, template, row.state, row.progress);
    }
    const r = run;
    await serial(r, async () => {
      const key = `${WORKER}:${id}:${command}:${action}`;
      if (action === "pause" && r.state === "running") {
        if ((await send({ type: "workflow.paused", subject: id, data: {}, key })) === null) return refresh(r);
        r.state = "paused";
        log(`${id} paused (command ${command})`);
      } else if (action === "resume" && r.state === "paused") {
        if ((await send({ type: "workflow.resumed", subject: id, data: {}, key })) === null) return refresh(r);
        r.state = "running";
        r.wake();
        log(`${id} resumed (command ${command})`);
      } else if (action === "cancel" && r.state !== "done") {
        if ((await send({ type: "workflow.cancelled", subject: id, data: { reason: reason ?? "Cancelled by an operator" }, key })) === null) return refresh(r);
        r.state = "done";
        r.wake();
        log(`${id} cancelled (command ${command})`);
      } else {
        log(`${action} of ${id} ignored: it is already ${r.state} (command ${command})`);
      }
    });
  }

  async function handle(command: Command): Promise<void> {
    if (command.type !== "workflow.control_requested" || !command.subject || handled.has(command.id)) return;
    handled.add(command.id);
    const reason = typeof command.data.reason === "string" ? command.data.reason : null;
    await control(command.subject, String(command.data.action), command.id, reason);
  }

  // Start from the state: the workflows this runner owns, and the controls waiting for it; then follow commands from its head.
  const state = (await client.get("/workflows?limit=1000")) as { head: number; workflows: WorkflowRow[] };
  const waiting: [string, string, number, string | null][] = [];
  for (const w of state.workflows) {
    // A retry asked while this runner was away: answered below, like any waiting control.
    if (w.worker === WORKER && w.pending_action === "retry" && w.pending_event_id !== null) waiting.push([w.workflow_id, "retry", w.pending_event_id, null]);
    if (w.worker !== WORKER || (w.state !== "running" && w.state !== "paused")) continue;
    const template = templateOf(w.stages);
    if (!template) {
      log(`${w.workflow_id} has stages this runner does not know (${w.stages.join(", ")}); left as it is`);
      continue;
    }
    adopt(w.workflow_id, w.name, template, w.state, w.progress, w.attempt);
    if (w.pending_action && w.pending_event_id !== null) waiting.push([w.workflow_id, w.pending_action, w.pending_event_id, w.pending_reason]);
  }
  log(`started at head ${state.head}: ${runs.size} workflow(s) resumed`);

  const commands = client.holdCommands(WORKER, handle, { signal, lastEventId: state.head });
  // Controls requested while this runner was away: they came before `head`, so the stream will not bring them.
  for (const [id, action, command, reason] of waiting) {
    handled.add(command);
    await control(id, action, command, reason);
  }

  // Start workflows every so often, keeping at most `max` running (and a bounded number paused).
  const starter = (async () => {
    const run = randomBytes(3).toString("hex");
    let count = 0;
    await wait(between(500, 2000));
    while (!signal.aborted) {
      const running = [...runs.values()].filter((r) => r.state === "running").length;
      if (running < max && runs.size < max * 2) {
        const template = pick(Math.random, TEMPLATES);
        await start(`wf-${run}-${++count}`, template.name(Math.random), template);
      }
      await wait(between(4000, 12000));
    }
  })();

  await commands;
  await starter;
}

runProducer("workflow-runner", workflowRunner);
