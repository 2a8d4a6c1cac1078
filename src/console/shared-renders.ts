import type { StoredEvent } from "../event.js";
import { renderFeedItem, renderFold, type FeedFilter, type FeedRenders } from "./feed.js";
import { queryString } from "./page-query.js";
import type { Panel, PanelContext } from "./panels.js";

/** A panel or a history panel, as far as its updates are concerned. */
type Updated = Pick<Panel, "update" | "params">;

/** How a page stream renders its panels and feed. */
export interface Renders {
  /** The whole panel. */
  panel(panel: Panel, ctx: PanelContext): string;
  /** The panel's `update` for these events (those of its topics). */
  update(panel: Updated, ctx: PanelContext, events: readonly StoredEvent[]): string[];
  /** Feed items and folds for a feed with this filter. */
  feed(ctx: PanelContext, filter: FeedFilter): FeedRenders;
}

/**
 * Renders that page groups share while the log stays at one position.
 * Groups differ by filters, but most panels read only their own (a panel
 * renders from its `params`, its tenant and the viewer's rights), so twenty
 * groups that differ in the agents filter need the calls panel's update
 * once, not twenty times; a feed item is the same markup for every page
 * that shows it. Everything is dropped when the head moves: a render is
 * reused only for the state it was made from. One per app.
 */
export class SharedRenders {
  #head = -1;
  #renders = new Map<string, string | string[]>();
  #panelIds = new WeakMap<Updated, number>();
  #nextPanelId = 0;

  /** The renders to use with the log at `head` (the log's head now). */
  at(head: number): Renders {
    if (head !== this.#head) {
      this.#head = head;
      this.#renders.clear();
    }
    return {
      panel: (panel, ctx) => this.#get(this.#panelKey(panel, ctx), () => panel.render(ctx)),
      update: (panel, ctx, events) => {
        // The same events of its topics, the same partials (another group's run may hold other events beside them).
        const ids = events.map((e) => e.id).join(",");
        return this.#get(`${this.#panelKey(panel, ctx)}|u|${ids}`, () => panel.update!(ctx, events));
      },
      feed: (ctx, filter) => {
        // Everything an item's markup depends on besides its event: a private update's data shows only to some viewers.
        const scope = `${ctx.tenant === null ? "a" : "t"}|${filter.every ? "e" : "c"}|${filter.payloads ? "p" : ""}|${filter.privateData ? "v" : ""}`;
        return {
          item: (item) => this.#get(`f|${item.e.id}|${scope}|${item.tick?.id ?? ""}`, () => renderFeedItem(ctx, filter, item)),
          fold: (tick) => this.#get(`k|${tick.id}`, () => renderFold(ctx, tick)),
        };
      },
    };
  }

  /** Same tenant, rights and panel filters, same markup. Panels are told apart by identity: a detail page's (one agent's) is its own object. */
  #panelKey(panel: Updated, ctx: PanelContext): string {
    let id = this.#panelIds.get(panel);
    if (id === undefined) this.#panelIds.set(panel, (id = this.#nextPanelId++));
    const params = panel.params ? queryString(panel.params(ctx.query)) : "";
    return `p|${id}|${ctx.tenant ?? "*"}|${ctx.canControl ? "c" : "r"}|${ctx.csrf}|${params}`;
  }

  #get<T extends string | string[]>(key: string, render: () => T): T {
    let html = this.#renders.get(key) as T | undefined;
    if (html === undefined) this.#renders.set(key, (html = render()));
    return html;
  }
}
