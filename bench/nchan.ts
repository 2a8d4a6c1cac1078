/**
 * The peer of the `--peers` mode (issue 13): nginx with nchan, the C
 * pub/sub module, as Debian packages it. Installed when missing (as root),
 * configured at run time in a temporary directory, and run as one process
 * so its CPU and RSS compare with our single Node process.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, HOST, launch, type Target } from "./servers.js";

/** Debian's packages: the smallest nginx, and the module it loads; and where they put them. */
export const NCHAN_PACKAGES = ["nginx-light", "libnginx-mod-nchan"] as const;
export const DEBIAN_NGINX = "/usr/sbin/nginx";
export const DEBIAN_NCHAN_MODULE = "/usr/lib/nginx/modules/ngx_nchan_module.so";

export interface NchanSettings {
  nginx: string;
  module: string;
  /** Most streams the run opens at once: nginx preallocates its connection slots. */
  maxStreams: number;
  /** Most messages a run publishes; the channel keeps at least twice as many. */
  maxMessages: number;
}

const installHint = `apt-get install ${NCHAN_PACKAGES.join(" ")}`;

/**
 * Makes sure nginx and the nchan module are there: installs Debian's packages
 * when running as root with apt-get at hand, and otherwise says exactly what
 * to run (or which settings point at another build).
 */
export function ensureNchan(s: Pick<NchanSettings, "nginx" | "module">, log: (line: string) => void): void {
  const missing = () => [s.nginx, s.module].filter((f) => !existsSync(f));
  if (missing().length === 0) return;
  // Only Debian's own paths are filled by installing Debian's packages.
  const debianPaths = s.nginx === DEBIAN_NGINX && s.module === DEBIAN_NCHAN_MODULE;
  const canInstall = debianPaths && process.getuid?.() === 0 && existsSync("/usr/bin/apt-get");
  if (!canInstall) {
    throw new Error(
      `nchan is missing (${missing().join(", ")} not found). Install Debian's packages with \`sudo ${installHint}\`, ` +
        `or point BENCH_NGINX and BENCH_NCHAN_MODULE at an nginx and its ngx_nchan_module.so.`,
    );
  }
  log(`Installing ${NCHAN_PACKAGES.join(" and ")} (${missing().join(", ")} not found): apt-get update, then ${installHint}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update", "-qq"], ["install", "-y", "-qq", ...NCHAN_PACKAGES]]) {
    const r = spawnSync("apt-get", args, { env, encoding: "utf8", timeout: 600_000 });
    if (r.status !== 0) {
      throw new Error(`apt-get ${args.join(" ")} failed (exit ${r.status}): ${(r.stderr || r.stdout || String(r.error ?? "")).trim().slice(-500)}`);
    }
  }
  if (missing().length > 0) throw new Error(`after \`${installHint}\`, still missing: ${missing().join(", ")}`);
  log(`  installed; on a host with systemd the package may also have started the nginx service (\`systemctl disable --now nginx\` stops it)`);
}

/**
 * The configuration, and why each line:
 * - `master_process off` (with `daemon off`): nginx is one process doing all
 *   the work, as `worker_processes 1` would leave one worker doing it; the
 *   pid we start is the pid we sample, and one process with one event loop
 *   is what our server is too.
 * - One channel (`bench`): POST /publish publishes to it, GET /stream
 *   subscribes with EventSource framing (`id: <seconds>:<n>`, `data: …`).
 *   `nchan_subscriber_first_message newest`: a new stream gets only what is
 *   published after it opened, as ours does without Last-Event-ID.
 * - The channel keeps more messages than any run publishes, for longer than
 *   the run, so no subscriber that falls behind in a burst can miss one.
 * - No access log, errors to stderr (kept with the run's output), keep-alive
 *   for the publisher's connections without the default 1,000-request cap,
 *   and every path nginx writes in the temporary directory.
 */
export function nchanConf(dir: string, port: number, s: NchanSettings): string {
  return `# Written by bench/nchan.ts for one bench run.
load_module ${s.module};
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile ${s.maxStreams + 4096};
pid ${dir}/nginx.pid;
error_log stderr warn;
events {
  worker_connections ${s.maxStreams + 1024};
}
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen ${HOST}:${port};
    location = /publish {
      nchan_publisher;
      nchan_channel_id bench;
      nchan_message_buffer_length ${Math.max(10_000, 2 * s.maxMessages)};
      nchan_message_timeout 1h;
    }
    location = /stream {
      nchan_subscriber eventsource;
      nchan_channel_id bench;
      nchan_subscriber_first_message newest;
    }
    location = /healthz {
      return 200 "ok";
    }
  }
}
`;
}

/** Starts nginx with nchan on a free port; its temporary directory goes when it stops. */
export async function startNchan(s: NchanSettings): Promise<Target> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), "switchboard-bench-nchan-"));
  const conf = path.join(dir, "nginx.conf");
  writeFileSync(conf, nchanConf(dir, port, s));
  // Errors go to stderr, where launch() keeps the last lines for the report (Debian's build logs there by default too).
  const t = await launch("nchan", s.nginx, ["-p", dir, "-c", conf], port, {}, () => rmSync(dir, { recursive: true, force: true }));
  return {
    ...t,
    stream: { host: HOST, port, path: "/stream", headers: {} },
    // nchan answers a publish in JSON only when asked; the id of the message is in it.
    publish: { host: HOST, port, path: "/publish", headers: { Accept: "application/json" } },
    replays: false,
  };
}
