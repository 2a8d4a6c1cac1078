import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import type { Db } from "./db.js";
import { settings } from "./schema.js";

const SESSION_SECRET = "session_secret";

/**
 * The secret console session cookies and CSRF tokens are signed with, made
 * on the first start and kept in the database, so a restart or an upgrade
 * keeps operators signed in. Insert-or-ignore, then read: two processes
 * starting on a new database at once agree on one secret.
 */
export function storedSessionSecret(db: Db): string {
  db.insert(settings).values({ name: SESSION_SECRET, value: randomBytes(32).toString("base64url") }).onConflictDoNothing().run();
  return db.select({ value: settings.value }).from(settings).where(eq(settings.name, SESSION_SECRET)).get()!.value;
}
