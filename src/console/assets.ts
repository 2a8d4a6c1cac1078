import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";

const require = createRequire(import.meta.url);
const PUBLIC = resolve(dirname(fileURLToPath(import.meta.url)), "../../public");

/** Static files the console loads, by URL: htmx and its SSE extension from the installed package, and public/. */
const FILES: Record<string, { path: string; type: string }> = {
  "/assets/htmx.js": { path: require.resolve("htmx.org/dist/htmx.min.js"), type: "text/javascript; charset=utf-8" },
  "/assets/hx-sse.js": { path: require.resolve("htmx.org/dist/ext/hx-sse.min.js"), type: "text/javascript; charset=utf-8" },
  "/assets/console.js": { path: resolve(PUBLIC, "console.js"), type: "text/javascript; charset=utf-8" },
  "/assets/console.css": { path: resolve(PUBLIC, "console.css"), type: "text/css; charset=utf-8" },
  // Browsers ask for /favicon.ico on their own, on every page and on API URLs opened in a tab.
  "/favicon.ico": { path: resolve(PUBLIC, "favicon.ico"), type: "image/x-icon" },
  "/favicon.svg": { path: resolve(PUBLIC, "favicon.svg"), type: "image/svg+xml" },
};

/**
 * Serves the console's assets from memory, read once at start, with an
 * ETag so browsers revalidate cheaply. There are a handful of small files;
 * no build step and no CDN, so it works offline and behind any proxy.
 */
export function assetRoutes() {
  const app = new Hono();
  const assets = Object.entries(FILES).map(([url, { path, type }]) => {
    const body = readFileSync(path);
    return { url, body, type, etag: `"${createHash("sha1").update(body).digest("base64url")}"` };
  });
  for (const a of assets) {
    app.get(a.url, (c) => {
      if (c.req.header("if-none-match") === a.etag) return c.body(null, 304);
      return c.body(a.body, 200, { "Content-Type": a.type, ETag: a.etag, "Cache-Control": "no-cache" });
    });
  }
  return app;
}
