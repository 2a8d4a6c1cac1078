import { topicOf } from "../domain/registry.js";
import type { StoredEvent } from "../event.js";
import type { Panel, PanelContext } from "./panels.js";
import { deletePartial, morphPartial, upsertPartial } from "./partials.js";

/**
 * One list of a panel whose items update one by one (the active calls, the
 * agents passing the filter…). Each item is one entity, shown by one
 * template whose root carries the item's id and its `data-order`: the page
 * keeps a list sorted by that key (ascending), so a new item can be
 * inserted where a fresh render would put it.
 */
export interface LiveList<T> {
  /** The list element's id. */
  id: string;
  /** Its members now, in the order the page shows them (what its render shows). */
  members(ctx: PanelContext): T[];
  /**
   * At most this many: the page drops the last items past it (the list
   * element's `data-max`), as a fresh render would when newer members push
   * the last ones out.
   */
  max?: number;
  /**
   * Event types that take a member out of this bounded list other than by
   * pushing it out (a workflow finishing leaves the running ones): the page
   * holds only the members it was sent, so the list is refilled from its
   * tail, one item for each member that may have left.
   */
  leaves?: readonly string[];
}

/** What a panel made of live lists is: its lists, how an item is named and drawn, and what else changes with them. */
export interface ListPanelSpec<T> extends Omit<Panel, "update"> {
  lists: LiveList<T>[];
  /** The entity an item shows. */
  key(item: T): string;
  /** The entity an event of the panel's topics concerns, or null. Default: its subject. */
  eventKey?(e: StoredEvent): string | null;
  /** The item's element id, the same in every list of the panel (an item moves between them). */
  itemId(key: string): string;
  /** The item's markup, for any of the lists. */
  item(ctx: PanelContext, item: T): string;
  /** Small parts re-rendered whole with any change (counts, a note when nothing matches), each `{ id, render }`. */
  parts?: { id: string; render(ctx: PanelContext): string }[];
  /** The entities a run of events changed. Default: those its events of the panel's topics concern. */
  changed?(ctx: PanelContext, events: readonly StoredEvent[]): Set<string>;
  /** Event types that change an item in place and never which list it is in, nor where it sorts (progress ticks). */
  ticks?: readonly string[];
  /**
   * The part of an item that ticks change (a workflow's stages, bar and
   * task), its root with its own id: an item changed by ticks alone gets
   * this part morphed instead of all of it. Default: the whole item.
   */
  tickPart?(ctx: PanelContext, item: T): { id: string; html: string };
}

/**
 * A panel whose page stream sends only the items an event changed: each
 * changed entity's item, upserted into the list it belongs to now (moved
 * there and morphed when the page has it, inserted in order when not), or
 * removed when it belongs to none; and the panel's small parts. Read from
 * current state, so applying a run of events once or twice, or after the
 * page already showed some of them, leaves the page as a fresh render
 * would: the partials depend on which entities changed, never on what the
 * page held before.
 *
 * A bounded list (`max`) that lost members other than by newer ones
 * pushing them out (`leaves`) refills from its tail: the page has its
 * previous members only, so the last few of the list as it is now are
 * sent as well.
 */
export function listPanel<T>(spec: ListPanelSpec<T>): Panel {
  const { lists, key, itemId, item, parts = [], ticks = [] } = spec;
  const eventKey = spec.eventKey ?? ((e: StoredEvent) => e.subject);
  const changedBy = (events: readonly StoredEvent[]) => {
    const keys = new Set<string>();
    for (const e of events) {
      const k = spec.topics.includes(topicOf(e.type)) ? eventKey(e) : null;
      if (k !== null) keys.add(k);
    }
    return keys;
  };
  return {
    ...spec,
    update(ctx, events) {
      const changed = spec.changed ? spec.changed(ctx, events) : changedBy(events);
      if (changed.size === 0) return [];
      // Entities changed by their own ticks alone; the others may have changed anything (a worker's presence changes its workflows).
      const ticked = new Set<string>();
      const other = new Set<string>();
      for (const e of events) {
        const k = eventKey(e);
        if (k !== null) (ticks.includes(e.type) ? ticked : other).add(k);
      }
      const ticksOnly = new Set([...changed].filter((k) => ticked.has(k) && !other.has(k)));

      const out: string[] = [];
      const upserts: string[] = [];
      const tickParts: string[] = [];
      const everywhere = new Set<string>();
      for (const list of lists) {
        const members = list.members(ctx);
        const here = new Set(members.map(key));
        for (const k of here) everywhere.add(k);
        // Items sent whole: changed ones (unless ticks changed only their part), and a bounded list's refill.
        const whole = new Set<string>();
        for (const k of here) if (changed.has(k) && !(spec.tickPart && ticksOnly.has(k))) whole.add(k);
        if (list.max !== undefined && list.leaves) {
          const leaving = new Set<string>();
          for (const e of events) {
            const k = eventKey(e);
            if (k !== null && list.leaves.includes(e.type) && !here.has(k)) leaving.add(k);
          }
          // Nothing to refill while the list holds all there is. Members that entered by the others
          // leaving sort after every member that stayed (only ticks may have changed them).
          if (leaving.size > 0 && members.length + leaving.size > list.max) {
            const stayed = members.filter((m) => !changed.has(key(m)) || ticksOnly.has(key(m)));
            for (const m of stayed.slice(-leaving.size)) whole.add(key(m));
          }
        }
        const items = members.filter((m) => whole.has(key(m)));
        for (const m of members) {
          if (!changed.has(key(m)) || whole.has(key(m))) continue;
          const part = spec.tickPart!(ctx, m);
          tickParts.push(morphPartial(part.id, part.html));
        }
        if (items.length > 0) upserts.push(upsertPartial(list.id, items.map((m) => item(ctx, m))));
      }
      for (const k of changed) if (!everywhere.has(k)) out.push(deletePartial(itemId(k)));
      out.push(...upserts, ...tickParts);
      // Ticks alone change no count: what the parts show stays as it was.
      if (ticksOnly.size < changed.size) for (const part of parts) out.push(morphPartial(part.id, part.render(ctx)));
      return out;
    },
  };
}

/**
 * Digits enough for any millisecond time or event id, and few enough that
 * every integer up to TOP is exact in a double: keys of one width compare
 * as their numbers do.
 */
const WIDTH = 15;
const TOP = 10 ** WIDTH - 1;

/** A number as part of an order key, sorting ascending. */
export const ascending = (n: number): string => String(Math.max(0, Math.min(TOP, Math.trunc(n)))).padStart(WIDTH, "0");

/** A number as part of an order key, sorting descending (newest first). */
export const descending = (n: number): string => ascending(TOP - Math.max(0, Math.min(TOP, Math.trunc(n))));

/**
 * Text as part of an order key, sorting descending: each code point
 * (UTF-8 bytes, as SQLite compares text, order as code points do) written
 * as its complement in six hex digits, closed by "g", above any hex digit,
 * so that a longer text sorts before its own prefix, as it does descending.
 */
export const descendingText = (s: string): string =>
  `${Array.from(s, (ch) => (0x10ffff - ch.codePointAt(0)!).toString(16).padStart(6, "0")).join("")}g`;
