import { ADMIN_KEY } from "./server.js";

/** Signs in through the login form with `key`, as a browser would; returns the session cookie (`name=value`). */
export async function sessionCookie(server: { url: string }, key = ADMIN_KEY): Promise<string> {
  const login = await fetch(`${server.url}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: server.url },
    body: new URLSearchParams({ key }),
  });
  const cookie = login.headers.get("set-cookie");
  if (login.status !== 303 || !cookie) throw new Error(`login answered ${login.status}`);
  return cookie.split(";")[0];
}

/** One `<hx-partial>` of a page stream's message: where it goes, how, and its markup. */
export interface Partial {
  target: string;
  swap: string;
  html: string;
}

const PARTIAL = /<hx-partial hx-target="#([^"]+)" hx-swap="([^"]+)">([\s\S]*?)<\/hx-partial>/g;

/** The partials of one page stream message, in order. */
export function partialsOf(data: string): Partial[] {
  return [...data.matchAll(PARTIAL)].map((m) => ({ target: m[1], swap: m[2], html: m[3] }));
}

/** The feed's item ids as the page shows them (newest first) after applying `messages` in order, starting empty. */
export function feedAfter(messages: readonly { data: string }[]): number[] {
  let shown: number[] = [];
  for (const m of messages) {
    for (const p of partialsOf(m.data)) {
      if (p.target !== "feed-items") continue;
      const ids = [...p.html.matchAll(/data-id="(\d+)"/g)].map((x) => Number(x[1]));
      if (p.swap === "afterbegin") shown = [...ids, ...shown];
      else if (p.swap === "outerHTML") shown = ids;
    }
  }
  return shown;
}

/** An item of a live list as a page holds it: its element id, its order key and its markup. */
export interface ListItem {
  id: string;
  order: string;
  html: string;
}

const ITEM_ROOT = /<[a-z]+ id="([^"]+)" data-order="([^"]*)"/g;

/** The items of an `upsertMorph` partial: each root carries its id and data-order first. */
export function itemsOf(html: string): ListItem[] {
  const starts = [...html.matchAll(ITEM_ROOT)];
  return starts.map((m, i) => ({ id: m[1], order: m[2], html: html.slice(m.index, starts[i + 1]?.index ?? html.length) }));
}

/**
 * A console page as its stream leaves it, in the terms of the partials (no
 * DOM): live lists by id (upserted in order, items deleted), other targets'
 * latest markup, and the feed's item ids. What public/console.js does to
 * the page, so a test can say what the page shows after a run of messages.
 */
export class PageModel {
  readonly lists = new Map<string, ListItem[]>();
  readonly targets = new Map<string, string>();

  constructor(readonly max: Record<string, number> = {}) {}

  apply(messages: readonly { data: string }[]): this {
    for (const m of messages) {
      for (const p of partialsOf(m.data)) {
        if (p.swap === "upsertMorph") this.#upsert(p.target, itemsOf(p.html));
        else if (p.swap === "delete") this.#remove(p.target);
        else this.targets.set(p.target, p.html);
      }
    }
    return this;
  }

  /** The element ids of a list's items, in page order. */
  ids(list: string): string[] {
    return (this.lists.get(list) ?? []).map((item) => item.id);
  }

  item(id: string): ListItem | undefined {
    for (const items of this.lists.values()) for (const item of items) if (item.id === id) return item;
    return undefined;
  }

  #remove(id: string): void {
    for (const items of this.lists.values()) {
      const i = items.findIndex((item) => item.id === id);
      if (i !== -1) items.splice(i, 1);
    }
  }

  #upsert(list: string, items: ListItem[]): void {
    let shown = this.lists.get(list);
    if (!shown) this.lists.set(list, (shown = []));
    for (const item of items) {
      this.#remove(item.id);
      const at = shown.findIndex((other) => other.order > item.order);
      shown.splice(at === -1 ? shown.length : at, 0, item);
    }
    const max = this.max[list];
    if (max !== undefined) shown.splice(max);
  }
}
