import type { StoredEvent } from "../event.js";
import { renderFeedItem } from "./feed.js";
import { queryString } from "./page-query.js";
import type { Panel, PanelContext } from "./panels.js";

/** How a page stream renders its panels and feed items. */
export interface Renders {
  panel(panel: Panel, ctx: PanelContext): string;
  feedItem(ctx: PanelContext, e: StoredEvent): string;
}

/**
 * Renders that page groups share while the log stays at one position.
 * Groups differ by filters, but most panels read only their own (a panel
 * renders from its `params`, its tenant and the viewer's rights), so twenty
 * groups that differ in the agents filter need the calls panel once, not
 * twenty times; a feed item is the same markup for every page that shows it.
 * Everything is dropped when the head moves: a render is reused only for the
 * state it was made from. One per app.
 */
export class SharedRenders {
  #head = -1;
  #renders = new Map<string, string>();
  #panelIds = new WeakMap<Panel, number>();
  #nextPanelId = 0;

  /** The renders to use with the log at `head` (the log's head now). */
  at(head: number): Renders {
    if (head !== this.#head) {
      this.#head = head;
      this.#renders.clear();
    }
    return {
      panel: (panel, ctx) => this.#get(this.#panelKey(panel, ctx), () => panel.render(ctx)),
      feedItem: (ctx, e) => {
        const allTenants = ctx.tenant === null;
        return this.#get(`f|${e.id}|${allTenants ? "a" : "t"}`, () => renderFeedItem(ctx.views, e, allTenants));
      },
    };
  }

  /** Same tenant, rights and panel filters, same markup. Panels are told apart by identity: a detail page's (one agent's) is its own object. */
  #panelKey(panel: Panel, ctx: PanelContext): string {
    let id = this.#panelIds.get(panel);
    if (id === undefined) this.#panelIds.set(panel, (id = this.#nextPanelId++));
    const params = panel.params ? queryString(panel.params(ctx.query)) : "";
    return `p|${id}|${ctx.tenant ?? "*"}|${ctx.canControl ? "c" : "r"}|${ctx.csrf}|${params}`;
  }

  #get(key: string, render: () => string): string {
    let html = this.#renders.get(key);
    if (html === undefined) this.#renders.set(key, (html = render()));
    return html;
  }
}
