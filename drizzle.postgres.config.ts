import { defineConfig } from "drizzle-kit";

// PostgreSQL's migrations, generated from the mirror of the one schema
// (src/store/postgres-schema.ts) with `npm run db:generate`.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/store/postgres-schema.ts",
  out: "./drizzle/postgres",
});
