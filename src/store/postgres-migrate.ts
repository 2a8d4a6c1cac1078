import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";

const MIGRATIONS = resolve(dirname(fileURLToPath(import.meta.url)), "../../drizzle/postgres");

/** Held while migrating: nodes starting together migrate one after the other, and the later ones find nothing to do. */
export const MIGRATE_LOCK = 0x5357_4d47; // "SWMG"

/** Applies PostgreSQL's committed migrations (drizzle/postgres) under MIGRATE_LOCK. */
export async function migratePostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATE_LOCK]);
    await migrate(drizzle(client), { migrationsFolder: MIGRATIONS });
  } finally {
    // Ending the session releases the lock, also when a migration failed.
    await client.end().catch(() => undefined);
  }
}
