import { Hono, type Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { DomainDeps } from "../domain/domain.js";
import { clientAddress } from "../http/client-address.js";
import type { AppEnv } from "../http/env.js";
import { parsePosition } from "../http/position.js";
import { isAdmin, type ApiKey } from "../store/keys.js";
import { errorPage } from "./error-page.js";
import { layoutFor } from "./layout.js";
import { feedChips } from "./feed-chips.js";
import { feedFilter, renderFeed } from "./feed.js";
import { feedPageRoutes } from "./feed-page.js";
import { OVERVIEW_ATTENTION, OVERVIEW_TILES, tenantPath } from "./overview.js";
import { adminRoutes } from "./admin.js";
import { openPageStream } from "./live.js";
import type { LoginThrottle } from "./login-throttle.js";
import { pageQuery, queryString, type PageQuery } from "./page-query.js";
import { formBodyLimit } from "./form-limit.js";
import { sameOrigin } from "./same-origin.js";
import type { FeedTopics } from "./feed-topic.js";
import type { Panel, PanelContext } from "./panels.js";
import type { Sessions } from "./session.js";
import type { SharedRenders } from "./shared-renders.js";
import { statsRoutes } from "./stats.js";
import type { Views } from "./views.js";

export interface ConsoleDeps extends DomainDeps {
  views: Views;
  sessions: Sessions;
  /** The tenant console's panels, in page order. */
  panels: Panel[];
  /** The panels of the admin's all-tenants view (each `allTenants`). Default: those of `panels` that are. */
  adminPanels?: Panel[];
  /** How each domain's events read in the activity feed. */
  feedTopics: FeedTopics;
  /** Each domain's console pages and control forms, under /t/:tenant/…. */
  domainConsoles?: ((deps: ConsoleDeps) => Hono<ConsoleEnv>)[];
  /** Distinct live page groups (filters × rights, detail pages) a tenant may have open; past it, 429. */
  maxPageGroupsPerTenant: number;
  /** Renders page groups share at one log position. */
  sharedRenders: SharedRenders;
  /** Failed sign-ins per client address. */
  loginThrottle: LoginThrottle;
  /** Reverse proxies in front that append to X-Forwarded-For (TRUST_PROXY). */
  trustProxy: number;
}

export type ConsoleEnv = AppEnv & { Variables: { session: string; csrf: string } };

/** The operator console: login, the tenant console and its page stream. */
export function consoleRoutes(deps: ConsoleDeps) {
  const app = new Hono<ConsoleEnv>();
  const { views, sessions } = deps;

  // Forms post from our own pages only: the Origin check refuses cross-site posts outright.
  app.use("/login", sameOrigin());
  app.use("/logout", sameOrigin());
  app.use("/t/*", sameOrigin());
  app.use("/admin/*", sameOrigin());
  for (const path of ["/login", "/logout", "/t/*", "/admin/*"]) app.use(path, formBodyLimit(deps.maxEventBytes));

  app.get("/", async (c) => {
    const session = await sessions.resolve(c);
    return c.redirect(session ? consoleHome(session.key, deps) : "/login");
  });

  app.get("/login", (c) => c.html(views.render("pages/login", { error: null, next: safeNext(c.req.query("next")) })));

  app.post("/login", async (c) => {
    const form = await c.req.parseBody();
    const secret = typeof form.key === "string" ? form.key.trim() : "";
    const next = safeNext(typeof form.next === "string" ? form.next : undefined);
    const address = clientAddress(c, deps.trustProxy);
    // Before the key is looked at: a throttled address learns nothing, not even that a key is right.
    const admission = deps.loginThrottle.check(address);
    if (!admission.ok) {
      const error = deps.loginThrottle.message(admission.retryAfterSec);
      return c.html(views.render("pages/login", { error, next }), 429, { "Retry-After": String(admission.retryAfterSec) });
    }
    const key = secret ? deps.keys.verify(secret) : null;
    const refusal = !secret
      ? "Paste an API key to sign in."
      : !key
        ? "That key is unknown or revoked."
        : !key.scopes.has("read")
          ? "That key has no read scope."
          : key.tenant !== null && deps.tenants.isDisabled(key.tenant)
            ? `That key's tenant "${key.tenant}" is disabled.`
            : null;
    if (refusal !== null || !key) {
      if (secret) deps.loginThrottle.failed(address);
      return c.html(views.render("pages/login", { error: refusal, next }), secret ? 401 : 400);
    }
    await sessions.start(c, key, { userAgent: c.req.header("user-agent") ?? "", address });
    return c.redirect(next ?? consoleHome(key, deps), 303);
  });

  app.post("/logout", async (c) => {
    const ended = await sessions.end(c);
    // This process's pages of the session end now; other nodes' at their next access check.
    if (ended) deps.access.end("session", ended, "session_ended");
    return c.redirect("/login", 303);
  });

  const page = consolePage(deps);
  app.use("/t/:tenant", page);
  app.use("/t/:tenant/*", page);
  app.use("/admin", page);
  app.use("/admin/*", page);
  // Control forms publish commands: each POST spends one event of the session key's allowance, as on the API.
  app.use("/t/:tenant/*", async function rateLimit(c, next) {
    if (c.req.method !== "POST") return next();
    const admission = await deps.limiter.take(c.get("key").id, 1);
    if (admission.ok) return next();
    const message = deps.limiter.message(admission.retryAfterSec);
    const headers = { "Retry-After": String(admission.retryAfterSec) };
    if (c.req.header("hx-request") === "true") return c.text(message, 429, { ...headers, "HX-Reswap": "none" });
    return errorPage(c, deps, 429, message, headers);
  });

  // The overview: count tiles and what needs attention beside the feed, then the full panels.
  app.get("/t/:tenant", async (c) => {
    const ctx = { ...panelContext(c, deps), query: pageQuery(deps.panels, c.req.query()) };
    const filter = feedFilter(ctx.query);
    // State and head in one snapshot, then the stream starts exactly there.
    const { head, value: panels } = deps.log.atHead(() => deps.panels.map((p) => ({ id: p.id, html: p.page ? p.page(ctx) : p.render(ctx) })));
    const feed = await renderFeed(deps.log, ctx, filter, head);
    const tenant = c.req.param("tenant");
    const liveUrl = pageLiveUrl(tenant, ctx.query, head);
    const feedPath = tenantPath(tenant);
    const chips = feedChips(feedPath, ctx.query);
    const [overview, rest] = [panels.filter((p) => isOverview(p.id)), panels.filter((p) => !isOverview(p.id))];
    return c.html(views.render("pages/console", { ...layoutData(c, deps), overview, panels: rest, feed, filter, chips, feedPath, head, liveUrl }));
  });

  app.get("/t/:tenant/live", async (c) => {
    const query = pageQuery(deps.panels, c.req.query());
    const ctx = { ...panelContext(c, deps), query };
    const filter = feedFilter(query);
    const position = parsePosition(c.req.header("last-event-id"), "Last-Event-ID") ?? parsePosition(c.req.query("after"), "after");
    // Panels render from the page's filters alone (validated), so one group serves every URL with the same filters.
    const key = `page|${ctx.tenant}|${queryString(query)}|${ctx.canControl ? "c" : "r"}`;
    return openPageStream(c, deps, { panels: deps.panels, ctx, filter, position, key });
  });

  app.route("/", feedPageRoutes(deps));
  app.route("/", statsRoutes(deps));
  app.route("/", adminRoutes(deps));

  // The tenant switcher without JavaScript; its blank choice is the all-tenants view.
  app.get("/switch", (c) => {
    const tenant = c.req.query("tenant");
    return c.redirect(tenant ? `/t/${encodeURIComponent(tenant)}` : "/admin");
  });

  for (const domainConsole of deps.domainConsoles ?? []) app.route("/", domainConsole(deps));

  return app;
}

const isOverview = (id: string) => id === OVERVIEW_TILES || id === OVERVIEW_ATTENTION;

/** Where a key lands after login: its tenant's console, or the first tenant's for admin keys. */
function consoleHome(key: ApiKey, deps: ConsoleDeps): string {
  return `/t/${key.tenant ?? deps.tenants.list()[0]?.slug ?? "demo"}`;
}

/**
 * A path on this site: "/" not followed by "/" or "\\" (which browsers read
 * as another host), in visible ASCII only. Browsers drop tabs and line
 * breaks from a URL before resolving it (`/\t/evil.example` is
 * `//evil.example`), and a line break cannot go in a Location header.
 */
const LOCAL_PATH = /^\/(?![/\\])[\x21-\x7e]*$/;

/** Only local paths: a `next` must never send the operator to another site; anything else is ignored. */
function safeNext(next: string | undefined): string | null {
  return next !== undefined && LOCAL_PATH.test(next) ? next : null;
}

/** The tenant console's page stream: the page's own filters, from the head the page was rendered at. */
export function pageLiveUrl(tenant: string, query: PageQuery, head: number): string {
  const q = queryString(query);
  return `/t/${encodeURIComponent(tenant)}/live?${q ? `${q}&` : ""}after=${head}`;
}

/** A page's stream (`…/live`, a list's `/t/:tenant/live/…`): read by a script, which wants a status, not a login page. */
const isPageStream = (path: string): boolean => path.endsWith("/live") || /^\/t\/[^/]+\/live\//.test(path);

/**
 * Console pages need a session whose key reaches the tenant: no session
 * redirects to the login (the page stream, a script, gets 401); another
 * tenant's key gets 403, an unknown tenant 404 — never the data.
 */
function consolePage(deps: ConsoleDeps) {
  return createMiddleware<ConsoleEnv>(async function requireSession(c, next) {
    const session = await deps.sessions.resolve(c);
    if (!session) {
      if (isPageStream(c.req.path)) return c.text("sign in first", 401);
      return c.redirect(`/login?next=${encodeURIComponent(c.req.path)}`);
    }
    const tenant = c.req.param("tenant");
    // Pages outside /t/:tenant (the all-tenants view) are for admin keys only.
    if (tenant === undefined && !isAdmin(session.key)) {
      return errorPage(c, deps, 403, "Only admin keys (bound to no tenant, with the admin scope) can see every tenant.");
    }
    if (tenant !== undefined && session.key.tenant !== null && session.key.tenant !== tenant) {
      return errorPage(c, deps, 403, `Your key cannot see tenant "${tenant}".`);
    }
    if (tenant !== undefined && !deps.tenants.exists(tenant)) {
      return errorPage(c, deps, 404, `There is no tenant "${tenant}".`);
    }
    if (tenant !== undefined && deps.tenants.isDisabled(tenant)) {
      if (isPageStream(c.req.path)) return c.text(`tenant "${tenant}" is disabled`, 403);
      return errorPage(c, deps, 403, `Tenant "${tenant}" is disabled.`);
    }
    c.set("key", session.key);
    c.set("session", session.id);
    c.set("csrf", session.csrf);
    if (c.req.method === "POST") {
      const form = c.req.header("content-type")?.includes("form") ? await c.req.parseBody() : {};
      const token = c.req.header("x-csrf-token") ?? (typeof form._csrf === "string" ? form._csrf : undefined);
      if (!deps.sessions.checkCsrf(session, token)) return c.text("invalid or missing CSRF token; reload the page", 403);
    }
    await next();
  });
}

export function panelContext(c: Context<ConsoleEnv>, deps: ConsoleDeps): PanelContext {
  const key = c.get("key");
  return {
    views: deps.views,
    db: deps.db,
    tenant: c.req.param("tenant") ?? null,
    canControl: key.scopes.has("control"),
    csrf: c.get("csrf"),
    query: c.req.query(),
    feed: deps.feedTopics,
  };
}

/** What the layout needs on every page: who is signed in, where, and the tenant switcher. */
export function layoutData(c: Context<ConsoleEnv>, deps: ConsoleDeps) {
  return layoutFor(c.get("key"), { tenant: c.req.param("tenant"), path: c.req.path, csrf: c.get("csrf") }, deps.tenants);
}
