/**
 * The environment variable a supervisor sets (to "1") on the programs it
 * starts with an IPC channel, as `npm run demo` starts the server and the
 * producers. Opt-in, so that a process manager that merely talks to its
 * children over IPC (pm2's fork mode) keeps its own signals.
 */
export const SUPERVISED = "SWITCHBOARD_SUPERVISED";

/**
 * Ties a supervised program's life to its supervisor's. The two share a
 * process group, so a Ctrl-C in the terminal reaches every program at once;
 * the supervisor stops them in its own order (producers, then the server),
 * so SIGINT is left to it. And when the supervisor goes away, even by
 * SIGKILL, its end of the channel closes: the program then calls `stop`
 * rather than run on orphaned.
 *
 * Returns whether the program is supervised; when it is not, this does
 * nothing and the program handles SIGINT itself.
 */
export function followSupervisor(stop: () => void): boolean {
  if (process.env[SUPERVISED] !== "1" || !process.channel) return false;
  process.on("SIGINT", () => {});
  process.once("disconnect", () => {
    // Nobody reads our output any more: a write to the closed pipe must not end the stop half-way.
    for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});
    stop();
  });
  return true;
}
