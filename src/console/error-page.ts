import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { TenantStore } from "../store/tenants.js";
import { layoutFor } from "./layout.js";
import type { Sessions } from "./session.js";
import type { Views } from "./views.js";

export interface ErrorPageDeps {
  views: Views;
  sessions: Sessions;
  tenants: Pick<TenantStore, "list" | "exists">;
}

const TENANT_PATH = /^\/t\/([^/]+)/;

/**
 * A console error page (403, 404, 429, 500…) in the console's layout: for a
 * signed-in operator, with the top bar (switcher, navigation, sign out), so
 * a wrong link is one click from where they meant to go. The bar offers the
 * tenant of the path when the key reaches it, else the key's own.
 */
export function errorPage(c: Context, deps: ErrorPageDeps, status: ContentfulStatusCode, message: string, headers?: Record<string, string>): Response {
  const session = deps.sessions.current(c);
  let layout = {};
  if (session) {
    const inPath = TENANT_PATH.exec(c.req.path)?.[1];
    const asked = inPath === undefined ? undefined : safeDecode(inPath);
    const reachable = asked !== undefined && (session.key.tenant === null || session.key.tenant === asked) && deps.tenants.exists(asked);
    const tenant = reachable ? asked : (session.key.tenant ?? undefined);
    layout = layoutFor(session.key, { tenant, path: c.req.path, csrf: session.csrf }, deps.tenants);
  }
  return c.html(deps.views.render("pages/error", { ...layout, status, message }), status, headers);
}

/**
 * Whether an error should be answered with a page rather than JSON: a
 * browser loading a console page (or posting a plain form). API routes,
 * htmx requests and page streams keep their JSON errors.
 */
export function wantsPage(c: Context): boolean {
  return !c.req.path.startsWith("/api/") && c.req.header("hx-request") !== "true" && (c.req.header("accept") ?? "").includes("text/html");
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
