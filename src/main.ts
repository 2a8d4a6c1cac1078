import { ConfigError, loadConfig } from "./config.js";
import { startServer } from "./server.js";

/** Entry point: read the environment, start, and stop gracefully on SIGTERM/SIGINT. */
async function main(): Promise<void> {
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
  const stop = (signal: string) => {
    if (++signals > 1) process.exit(1); // a second Ctrl-C means now
    process.stderr.write(`switchboard: ${signal}, shutting down\n`);
    server.close().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`switchboard: shutdown failed: ${err}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

void main();
