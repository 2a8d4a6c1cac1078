import { defineConfig } from "drizzle-kit";

// Migrations are generated from src/store/schema.ts with `npm run db:generate`
// and committed; the server applies them at start (src/store/db.ts).
export default defineConfig({
  dialect: "sqlite",
  // The log's tables, and each domain's projection tables.
  schema: ["./src/store/schema.ts", "./src/domain/*/schema.ts"],
  out: "./drizzle/sqlite",
});
