import type { Context } from "hono";
import { activeSubscriptions, findSubscription, latestUpdateId, type MercureSubscription } from "../domain/mercure/queries.js";
import { ApiError } from "../http/errors.js";
import type { Db } from "../store/db.js";
import { authError, identify, type ClientDeps } from "./client.js";
import type { Draft } from "./subscribe.js";
import { insufficientScope, tokenRequired } from "./tokens.js";

export interface SubscriptionsApiDeps extends ClientDeps {
  db: Db;
}

const MATCHER_TYPES = new Set(["exact", "urlpattern"]);

/**
 * The subscriptions API, where a tenant turns subscription events on:
 * `{hub}/subscriptions` (every active subscription), one matcher's
 * collection (0.x `/{topic}`, 1.0 `/{match_type}/{match}`), and one
 * subscription (0.x `/{topic}/{subscriber}`, 1.0 `/{match_type}/{match}/
 * {subscriber}`); a two-segment path is 1.0's collection when its first
 * segment is a matcher type. The requested path is authorized as a topic,
 * as the drafts say: a token must allow subscribing to it. Read from what
 * the subscription events left in the log's projection, so every node of a
 * cluster answers the same.
 */
export async function subscriptionsApi(c: Context, deps: SubscriptionsApiDeps, tenant: string, hubUrl: URL): Promise<Response> {
  const client = await identify(c, deps, tenant, "subscribe", hubUrl);
  if (!deps.mercure.settings(tenant).subscriptions) {
    throw new ApiError(404, "not_found", `this hub publishes no subscription events: turn them on with "mercure subscriptions ${tenant} on"`);
  }
  // As sent, percent-encoding included: the form subscription topics have.
  const path = new URL(c.req.url).pathname;
  if (client.key === null && client.grant === null) throw authError(tokenRequired("the subscriptions API needs a token that may subscribe to its path"));
  if (!client.mayReceive([path])) throw authError(insufficientScope(`this token may not subscribe to ${path}`));
  const base = `${hubUrl.pathname}/subscriptions`;
  const segments = path === base ? [] : path.slice(base.length + 1).split("/");
  if (segments.some((s) => s === "") || segments.length > 3) throw notFound(path);
  const latest = latestUpdateId(deps.db, tenant) ?? "earliest";
  const oneDotO = segments.length === 3 || (segments.length === 2 && MATCHER_TYPES.has(segments[0]));
  const single = segments.length === 3 || (segments.length === 2 && !oneDotO);
  const draft: Draft = segments.length === 0 ? (client.grant?.protocol ?? "0.x") : oneDotO ? "1.0" : "0.x";
  const headers = responseHeaders(draft, hubUrl, latest);
  if (single) {
    const found = findSubscription(deps.db, tenant, path);
    if (!found) throw notFound(path);
    const document = JSON.parse(found.document) as Record<string, unknown>;
    return c.json(draft === "0.x" ? { ...document, lastEventID: latest } : document, 200, headers);
  }
  const rows: MercureSubscription[] = activeSubscriptions(deps.db, tenant, segments.length === 0 ? null : path).filter((s) => s.topic.startsWith(`${base}/`));
  const subscriptions = rows.map((s) => JSON.parse(s.document) as unknown);
  const body =
    draft === "0.x"
      ? { "@context": "https://mercure.rocks/", id: path, type: "Subscriptions", lastEventID: latest, subscriptions }
      : { id: path, type: "subscriptions", subscriptions };
  return c.json(body, 200, headers);
}

/** 0.x answers JSON-LD with the cursor in the body; 1.0 plain JSON with it on the hub's Link. */
function responseHeaders(draft: Draft, hubUrl: URL, latest: string): Record<string, string> {
  const quoted = latest.replace(/["\\]/g, "\\$&");
  return draft === "0.x"
    ? { "Content-Type": "application/ld+json", Link: `<${hubUrl.href}>; rel="mercure"`, ETag: `"${quoted}"`, "Cache-Control": "must-revalidate" }
    : {
        "Content-Type": "application/json",
        Link: `<${hubUrl.href}>; rel="mercure"; last-event-id="${quoted}"; type="mercure"; content-type="application/json"`,
        ETag: `"${quoted}"`,
        "Cache-Control": "must-revalidate",
      };
}

const notFound = (path: string) => new ApiError(404, "not_found", `no subscription at ${path}`);
