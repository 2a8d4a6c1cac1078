import type Database from "better-sqlite3";

/**
 * Changes to existing rows that come with a schema migration, which the SQL
 * migrations (generated from schema.ts) cannot express. Each is detected
 * from the schema before the migrations run, and applied right after them.
 */
export function rowUpgrades(sqlite: Database.Database): () => void {
  const keysBeforeWork = hasTable(sqlite, "api_keys") && !hasColumn(sqlite, "api_keys", "workers");
  const sessionsBeforeStatus = hasTable(sqlite, "chat_sessions") && !hasColumn(sqlite, "chat_sessions", "status");
  const workflowsBeforeStateAt = hasTable(sqlite, "workflows") && !hasColumn(sqlite, "workflows", "state_at");
  const workflowsBeforeCounts = hasTable(sqlite, "workflows") && !hasTable(sqlite, "workflow_state_counts");
  return () => {
    if (keysBeforeWork) grantWorkToPublishers(sqlite);
    if (sessionsBeforeStatus) sessionStatusFromMessages(sqlite);
    if (workflowsBeforeStateAt) dateWorkflowStates(sqlite);
    if (workflowsBeforeCounts) countWorkflowStates(sqlite);
  };
}

/**
 * Sessions from before the sessions list: their status and unanswered
 * count, which the chat projection keeps from then on, read once from
 * their messages (the new columns start as idle and 0).
 */
function sessionStatusFromMessages(sqlite: Database.Database): void {
  const of = "m.tenant = s.tenant AND m.session_id = s.session_id";
  sqlite.exec(`
    UPDATE chat_sessions AS s SET
      status = CASE
        WHEN EXISTS (SELECT 1 FROM chat_messages m WHERE ${of} AND m.status = 'streaming') THEN 'answering'
        WHEN EXISTS (SELECT 1 FROM chat_messages m WHERE ${of} AND m.status = 'pending') THEN 'waiting'
        ELSE 'idle' END,
      unanswered = (SELECT count(*) FROM chat_messages m WHERE ${of} AND m.status IN ('pending', 'expired'))`);
}

/**
 * Keys made before the work scope existed: a worker then needed publish
 * (for its answers and reports) and read (for its command stream), so every
 * key with publish gets work, unbound, and existing workers keep running. A
 * key with read alone no longer can open a command stream, which appends
 * presence events: that was the point of the new scope.
 */
function grantWorkToPublishers(sqlite: Database.Database): void {
  sqlite
    .prepare("UPDATE api_keys SET scopes = scopes || ',work' WHERE instr(',' || scopes || ',', ',publish,') > 0 AND instr(',' || scopes || ',', ',work,') = 0")
    .run();
}

/**
 * Workflows recorded before lists sorted by the time of their state: a
 * running or paused one entered it at its last change or its start (the
 * migration's default, 0, would sort it last), a finished one at its last
 * change, which a finished workflow never makes again.
 */
function dateWorkflowStates(sqlite: Database.Database): void {
  sqlite.prepare("UPDATE workflows SET state_at = CASE WHEN state IN ('running', 'paused') THEN started_at ELSE updated_at END").run();
}

/** The workflows list's counts, from the workflows recorded before the projection kept them. */
function countWorkflowStates(sqlite: Database.Database): void {
  sqlite.prepare("INSERT INTO workflow_state_counts (tenant, state, count) SELECT tenant, state, count(*) FROM workflows GROUP BY tenant, state").run();
}

const hasTable = (sqlite: Database.Database, table: string) =>
  sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;

const hasColumn = (sqlite: Database.Database, table: string, column: string) =>
  (sqlite.pragma(`table_info(${table})`) as { name: string }[]).some((c) => c.name === column);
