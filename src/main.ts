import { ConfigError, loadConfig } from "./config.js";
import { startServer } from "./server.js";
import { followSupervisor } from "./supervised.js";

/** Entry point: read the environment, start, and stop gracefully on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  // Until the server is up there is nothing to close: a stop is an exit.
  let stop: (reason: string) => void = () => process.exit(1);
  const supervised = followSupervisor(() => stop("the supervisor is gone"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  if (!supervised) process.on("SIGINT", () => stop("SIGINT"));

  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`switchboard: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const server = await startServer(config).catch((err: Error) => {
    process.stderr.write(`switchboard: ${err.message}\n`);
    process.exit(1);
  });
  if (server.bootstrapKey?.generated) {
    process.stdout.write(
      [
        "",
        "  New database: created tenant \"demo\" and an admin key. It is shown only this once:",
        "",
        `    ${server.bootstrapKey.secret}`,
        "",
        "  Try it:",
        `    curl -X POST ${server.url}/api/v1/tenants/demo/events -H 'Authorization: Bearer ${server.bootstrapKey.secret}' -H 'Content-Type: application/json' -d '{"type":"hello.world","data":{"msg":"hi"}}'`,
        "",
      ].join("\n") + "\n",
    );
  }
  let signals = 0;
  stop = (reason: string) => {
    if (++signals > 1) process.exit(1); // a second Ctrl-C means now
    process.stderr.write(`switchboard: ${reason}, shutting down\n`);
    server.close().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`switchboard: shutdown failed: ${err}\n`);
        process.exit(1);
      },
    );
  };
}

void main();
