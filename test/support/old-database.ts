import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";

/**
 * A database as an earlier release left it: the real migrations up to the
 * first one whose SQL matches `change` (left out, with all after it), then
 * `fill` writes rows as that release would have. Opening it with the server
 * then runs the rest, as an upgrade does. Throws when no migration matches.
 */
export function databaseBefore(path: string, change: RegExp, fill: (sqlite: Database.Database) => void): void {
  const migrations = mkdtempSync(join(tmpdir(), "switchboard-old-migrations-"));
  try {
    cpSync(join(import.meta.dirname, "../../drizzle/sqlite"), migrations, { recursive: true });
    const journalPath = join(migrations, "meta/_journal.json");
    const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: { tag: string }[] };
    const at = journal.entries.findIndex((e) => change.test(readFileSync(join(migrations, `${e.tag}.sql`), "utf8")));
    if (at <= 0) throw new Error(`no migration after the first matches ${change}`);
    journal.entries = journal.entries.slice(0, at);
    writeFileSync(journalPath, JSON.stringify(journal));
    const kept = new Set(journal.entries.map((e) => `${e.tag}.sql`));
    for (const file of readdirSync(migrations)) if (file.endsWith(".sql") && !kept.has(file)) rmSync(join(migrations, file));
    const sqlite = new Database(path);
    try {
      migrate(drizzle(sqlite), { migrationsFolder: migrations });
      fill(sqlite);
    } finally {
      sqlite.close();
    }
  } finally {
    rmSync(migrations, { recursive: true, force: true });
  }
}
