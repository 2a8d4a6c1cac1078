import { ADMIN_KEY, api } from "./server.js";

/** An event as the history API and JSON streams return it. */
export interface EventJson {
  id: number;
  tenant: string;
  type: string;
  subject: string | null;
  data: Record<string, unknown>;
  ts: string;
}

export interface HistoryPage {
  events: EventJson[];
  head: number;
  next: number;
}

export interface HistoryQuery {
  after?: number;
  limit?: number;
  types?: string;
  subject?: string;
}

/** One history page; throws on anything but a 200 so callers can trust the shape. */
export async function historyPage(server: { url: string }, tenant: string, query: HistoryQuery = {}, key = ADMIN_KEY): Promise<HistoryPage> {
  const params = new URLSearchParams();
  if (query.after !== undefined) params.set("after", String(query.after));
  if (query.limit !== undefined) params.set("limit", String(query.limit));
  if (query.types !== undefined) params.set("types", query.types);
  if (query.subject !== undefined) params.set("subject", query.subject);
  const res = await api(server, `/api/v1/tenants/${tenant}/events?${params}`, { key });
  if (res.status !== 200) throw new Error(`history read failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as HistoryPage;
}

/**
 * Walks a tenant's whole history with the `next` cursor (the source of
 * truth streams are compared against), checking the paging contract on the
 * way: no page exceeds `limit`, ids strictly increase, and a full page's
 * `next` is its last id. A page shorter than `limit` ends the walk.
 */
export async function walkHistory(
  server: { url: string },
  tenant: string,
  query: Omit<HistoryQuery, "after"> = {},
  key = ADMIN_KEY,
): Promise<EventJson[]> {
  const limit = query.limit ?? 1000;
  const all: EventJson[] = [];
  let after = 0;
  for (let pages = 0; pages < 100_000; pages++) {
    const page = await historyPage(server, tenant, { ...query, after, limit }, key);
    if (page.events.length > limit) throw new Error(`a page of ${page.events.length} events exceeds limit ${limit}`);
    for (const e of page.events) {
      const previous = all.at(-1)?.id ?? after;
      if (e.id <= previous) throw new Error(`history ids not increasing: ${e.id} after ${previous}`);
      all.push(e);
    }
    if (page.events.length < limit) return all;
    if (page.next !== page.events[limit - 1].id) throw new Error(`a full page's next (${page.next}) is not its last id (${page.events[limit - 1].id})`);
    after = page.next;
  }
  throw new Error("history walk does not end");
}

/** The log's head as the history API reports it. */
export async function logHead(server: { url: string }, tenant = "demo"): Promise<number> {
  return (await historyPage(server, tenant, { limit: 1 })).head;
}
