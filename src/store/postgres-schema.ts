import { is, SQL } from "drizzle-orm";
import { bigint, doublePrecision, foreignKey, index, pgTable, primaryKey, text, uniqueIndex, type PgColumnBuilderBase, type PgTableWithColumns } from "drizzle-orm/pg-core";
import { getTableConfig, SQLiteColumn, type SQLiteTable } from "drizzle-orm/sqlite-core";
import * as agents from "../domain/agents/schema.js";
import * as calls from "../domain/calls/schema.js";
import * as channels from "../domain/channels/schema.js";
import * as chat from "../domain/chat/schema.js";
import * as mercure from "../domain/mercure/schema.js";
import * as workflows from "../domain/workflows/schema.js";
import * as core from "./schema.js";

/**
 * The PostgreSQL schema, made from the SQLite one: there is one schema
 * (src/store/schema.ts and each domain's schema.ts), and this is its mirror
 * for drizzle-kit to generate PostgreSQL's migrations from
 * (drizzle.postgres.config.ts). Columns keep their SQLite storage so the
 * same table objects and the same queries serve both databases: integers
 * (times in ms, ids, flags stored as 0/1) are bigint, reals double
 * precision, and JSON stays text as the log stores it.
 */
function mirror(table: SQLiteTable, mirrored: Map<SQLiteTable, PgTableWithColumns<any>>): PgTableWithColumns<any> {
  const config = getTableConfig(table);
  const columns: Record<string, PgColumnBuilderBase> = {};
  for (const column of config.columns) columns[column.name] = columnOf(column);
  const built = pgTable(config.name, columns, (t) => {
    const col = (c: SQLiteColumn) => t[c.name];
    const extras = [];
    for (const pk of config.primaryKeys) extras.push(primaryKey({ columns: pk.columns.map(col) as [any, ...any[]] }));
    for (const ix of config.indexes) {
      const { name, columns: on, unique, where } = ix.config;
      const builder = (unique ? uniqueIndex : index)(name).on(...(on.map((c) => col(c as SQLiteColumn)) as [any, ...any[]]));
      extras.push(where ? builder.where(translate(where, t)) : builder);
    }
    for (const fk of config.foreignKeys) {
      const ref = fk.reference();
      const target = mirrored.get(ref.foreignTable);
      if (!target) throw new Error(`${config.name} refers to ${getTableConfig(ref.foreignTable).name}, which must be mirrored first`);
      extras.push(foreignKey({ columns: ref.columns.map(col) as [any, ...any[]], foreignColumns: ref.foreignColumns.map((c) => target[c.name]) as [any, ...any[]] }));
    }
    return extras;
  });
  mirrored.set(table, built);
  return built;
}

function columnOf(column: SQLiteColumn): PgColumnBuilderBase {
  let builder: any;
  switch (column.columnType) {
    case "SQLiteText":
    case "SQLiteTextJson":
      builder = text(column.name);
      break;
    case "SQLiteReal":
      builder = doublePrecision(column.name);
      break;
    case "SQLiteInteger":
    case "SQLiteTimestamp":
    case "SQLiteBoolean":
      builder = bigint(column.name, { mode: "number" });
      break;
    default:
      throw new Error(`column ${column.name}: no PostgreSQL mirror for ${column.columnType}`);
  }
  if ((column as { autoIncrement?: boolean }).autoIncrement) builder = builder.generatedByDefaultAsIdentity();
  if (column.primary) builder = builder.primaryKey();
  else if (column.notNull) builder = builder.notNull();
  if (column.hasDefault && column.default !== undefined) {
    builder = builder.default(typeof column.default === "boolean" ? Number(column.default) : column.default);
  }
  return builder;
}

/** A partial index's condition, its SQLite columns swapped for the mirror's. */
function translate(where: SQL, t: Record<string, unknown>): SQL {
  const chunks = where.queryChunks.map((chunk) => (is(chunk, SQLiteColumn) ? t[chunk.name] : chunk));
  return new SQL(chunks as SQL["queryChunks"]);
}

const tablesOf = (module: Record<string, unknown>): SQLiteTable[] =>
  Object.values(module).filter((v): v is SQLiteTable => typeof v === "object" && v !== null && getTableName(v) !== null);

function getTableName(v: object): string | null {
  try {
    return getTableConfig(v as SQLiteTable).name;
  } catch {
    return null;
  }
}

const mirrored = new Map<SQLiteTable, PgTableWithColumns<any>>();
// A foreign key's table is looked up when drizzle reads a table's extras, once all are mirrored: any order does.
for (const module of [core, agents, calls, channels, chat, workflows, mercure]) for (const table of tablesOf(module)) mirror(table, mirrored);

/** Every table of the schema, mirrored; drizzle-kit reads the named exports below. */
export const postgresTables = mirrored;
const of = (table: SQLiteTable) => mirrored.get(table)!;

export const tenants = of(core.tenants);
export const apiKeys = of(core.apiKeys);
export const consoleSessions = of(core.consoleSessions);
export const settings = of(core.settings);
export const mercureSettings = of(core.mercureSettings);
export const events = of(core.events);
export const eventTypeCounts = of(core.eventTypeCounts);
export const rateBuckets = of(core.rateBuckets);
export const nodeStreams = of(core.nodeStreams);
export const nodeWorkers = of(core.nodeWorkers);
export const agentsTable = of(agents.agents);
export const callsTable = of(calls.calls);
export const channelsTable = of(channels.channels);
export const chatSessions = of(chat.chatSessions);
export const chatMessages = of(chat.chatMessages);
export const chatDeltas = of(chat.chatDeltas);
export const toolRuns = of(chat.toolRuns);
export const workflowsTable = of(workflows.workflows);
export const workflowStateCounts = of(workflows.workflowStateCounts);
export const mercureTopicsTable = of(mercure.mercureTopics);
export const mercureSubscriptionsTable = of(mercure.mercureSubscriptions);
