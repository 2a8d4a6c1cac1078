import { feedFilter, feedParams } from "./feed.js";
import type { Panel } from "./panels.js";

/** A page's filters: only parameters its feed and panels read, each validated, in a canonical order. */
export type PageQuery = Record<string, string>;

/**
 * Reduces a console page's URL query to what its feed (platform, topic, every event) and
 * its panels (`Panel.params`) render from, validated and normalized, keys
 * sorted. Pages render from this, and page streams are grouped by it: two
 * URLs that show the same thing share one group, and parameters nothing
 * reads (`?junk=1`, the stream position) are dropped.
 */
export function pageQuery(panels: readonly Panel[], query: Record<string, string | undefined>): PageQuery {
  return canonical({ ...feedParams(feedFilter(query)), ...panelQuery(panels, query) });
}

/** The same for a page without a feed (a list page): its panels' parameters alone. */
export function panelQuery(panels: readonly Panel[], query: Record<string, string | undefined>): PageQuery {
  const all: PageQuery = {};
  for (const panel of panels) Object.assign(all, panel.params?.(query));
  return canonical(all);
}

const canonical = (query: PageQuery): PageQuery => Object.fromEntries(Object.entries(query).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** The query as URL text (`agent_status=busy&topic=call`), empty for none; stable for equal queries. */
export function queryString(query: PageQuery): string {
  return new URLSearchParams(query).toString();
}
