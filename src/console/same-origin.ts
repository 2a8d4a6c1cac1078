import type { MiddlewareHandler } from "hono";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { ApiError } from "../http/errors.js";

/**
 * Forms post from the console's own pages only: hono's CSRF check (the
 * browser's Sec-Fetch-Site, else the Origin header, must be this server's),
 * with a refusal that says so — hono's own answers a bare "Forbidden", which
 * tells an operator behind a misconfigured proxy nothing.
 */
export function sameOrigin(): MiddlewareHandler {
  const check = csrf();
  return async function sameOrigin(c, next) {
    let passed = false;
    try {
      await check(c, async () => {
        passed = true;
      });
    } catch (err) {
      if (passed || !(err instanceof HTTPException) || err.status !== 403) throw err;
      const origin = c.req.header("origin");
      throw new ApiError(
        403,
        "cross_origin",
        `this form was posted from ${origin ? `another origin (${origin.slice(0, 100)})` : "a page that sent no Origin"}, not from ${new URL(c.req.url).origin}: ` +
          "the console takes forms from its own pages only. Behind a proxy, pass the original Host header through",
      );
    }
    await next();
  };
}
