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

/** The element starting at `start` (an opening tag), through its matching closing tag. */
function element(html: string, start: number): string {
  const tag = /^<([a-z0-9]+)/.exec(html.slice(start))![1];
  const re = new RegExp(`<${tag}[\\s>]|</${tag}>`, "g");
  re.lastIndex = start;
  let depth = 0;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    depth += m[0].startsWith("</") ? -1 : 1;
    if (depth === 0) return html.slice(start, m.index + m[0].length);
  }
  throw new Error(`unclosed <${tag}> at ${start}`);
}

/** The element with this id in `html`, or undefined. */
export function elementById(html: string, id: string): string | undefined {
  const at = html.search(new RegExp(`<[a-z0-9]+ id="${id}"`));
  return at === -1 ? undefined : element(html, at);
}

const ITEM_ROOT = /<[a-z]+ id="([^"]+)" data-order="([^"]*)"/g;
const LIST_ROOT = /<(?:ul|div) id="([a-z-]+)" class="[^"]*\blive-list\b[^"]*"(?: data-max="(\d+)")?>/g;

/** The items of live-list markup (an `upsertMorph` partial, or a list's content): each root carries its id and data-order first. */
export function itemsOf(html: string): ListItem[] {
  const items: ListItem[] = [];
  let end = 0;
  for (const m of html.matchAll(ITEM_ROOT)) {
    if (m.index! < end) continue; // nested in the previous item
    const el = element(html, m.index!);
    end = m.index! + el.length;
    items.push({ id: m[1], order: m[2], html: el });
  }
  return items;
}

/**
 * Markup as compared between a live page and a fresh render: without what
 * differs by the clock or the session, nor versions (a card whose progress
 * part alone was updated keeps the version of its last whole update).
 */
export const comparable = (html: string): string =>
  html
    .replace(/(<time[^>]*>)[^<]*(<\/time>)/g, "$1$2")
    .replace(/name="_csrf" value="[^"]*"/g, 'name="_csrf" value=""')
    .replace(/ data-version="\d+"/g, "");

/**
 * A console page as its stream leaves it, in the terms of the partials (no
 * DOM): live lists by id (upserted in order, items deleted, parts of items
 * morphed, each list kept to its data-max once a message is in), and other
 * targets' latest markup. What
 * public/console.js does to the page, so a test can compare the page a
 * stream leaves with a fresh render. Load a page (or a panel) to start.
 */
export class PageModel {
  readonly lists = new Map<string, ListItem[]>();
  readonly max = new Map<string, number>();
  readonly targets = new Map<string, string>();

  /** Takes the lists in `html` (a page, or a panel rendered whole) as they are there. */
  load(html: string, parts: readonly string[] = []): this {
    const starts = [...html.matchAll(LIST_ROOT)];
    for (const m of starts) {
      const list = element(html, m.index!);
      this.lists.set(m[1], itemsOf(list.slice(m[0].length)));
      if (m[2] !== undefined) this.max.set(m[1], Number(m[2]));
    }
    for (const id of parts) {
      const part = elementById(html, id);
      if (part !== undefined) this.targets.set(id, part);
    }
    return this;
  }

  apply(messages: readonly { data: string }[]): this {
    for (const m of messages) {
      for (const p of partialsOf(m.data)) {
        if (p.swap === "upsertMorph") this.#upsert(p.target, itemsOf(p.html));
        else if (p.swap === "delete") this.#remove(p.target);
        else if (p.target === "feed-items") continue;
        else if (p.html.includes("live-list")) this.load(p.html, [...this.targets.keys()]);
        else if (!this.#morphInItem(p.target, p.html)) this.targets.set(p.target, p.html.trim());
      }
      // Once the whole message is in: an item it moves to another list no longer counts where it was.
      for (const [list, items] of this.lists) items.splice(this.max.get(list) ?? Infinity);
    }
    return this;
  }

  /** A page of its own in the same state. */
  copy(): PageModel {
    const page = new PageModel();
    for (const [list, items] of this.lists) page.lists.set(list, items.map((item) => ({ ...item })));
    for (const [list, max] of this.max) page.max.set(list, max);
    for (const [id, html] of this.targets) page.targets.set(id, html);
    return page;
  }

  /** The element ids of a list's items, in page order. */
  ids(list: string): string[] {
    return (this.lists.get(list) ?? []).map((item) => item.id);
  }

  item(id: string): ListItem | undefined {
    for (const items of this.lists.values()) for (const item of items) if (item.id === id) return item;
    return undefined;
  }

  /** A part of an item (its own id inside it) morphed: the item's markup with that part replaced. */
  #morphInItem(id: string, html: string): boolean {
    for (const items of this.lists.values()) {
      for (const item of items) {
        const old = elementById(item.html, id);
        if (old !== undefined) {
          item.html = item.html.replace(old, () => html.trim());
          return true;
        }
      }
    }
    return false;
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
  }
}
