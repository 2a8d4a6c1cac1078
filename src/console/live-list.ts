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
  /** At most this many: the page drops the last items past it (the list element's `data-max`). */
  max?: number;
}

/** What a panel made of live lists is: its lists, how an item is named and drawn, and what else changes with them. */
export interface ListPanelSpec<T> extends Omit<Panel, "update"> {
  lists: LiveList<T>[];
  /** The entity an item shows: events name it in their subject. */
  key(item: T): string;
  /** The item's element id, the same in every list of the panel (an item moves between them). */
  itemId(key: string): string;
  /** The item's markup, for any of the lists. */
  item(ctx: PanelContext, item: T): string;
  /** Small parts re-rendered whole with any change (counts, a note when nothing matches), each `{ id, render }`. */
  parts?: { id: string; render(ctx: PanelContext): string }[];
  /** The entities a run of events changed. Default: the subjects of the events of the panel's topics. */
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

/** The subjects of the events of these topics. */
export function subjectsOf(topics: readonly string[], events: readonly StoredEvent[]): Set<string> {
  const keys = new Set<string>();
  for (const e of events) if (e.subject !== null && topics.includes(topicOf(e.type))) keys.add(e.subject);
  return keys;
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
 * A bounded list (`max`) that lost members to a change (a finished workflow
 * restarted) refills from its tail: the page has its previous members
 * only, so the last few of the list as it is now are sent as well.
 */
export function listPanel<T>(spec: ListPanelSpec<T>): Panel {
  const { lists, key, itemId, item, parts = [], ticks = [] } = spec;
  return {
    ...spec,
    update(ctx, events) {
      const changed = spec.changed ? spec.changed(ctx, events) : subjectsOf(spec.topics, events);
      if (changed.size === 0) return [];
      const out: string[] = [];
      const everywhere = new Set<string>();
      // Entities whose events may have taken them out of a list or moved them in it: any but ticks.
      const moved = new Set<string>();
      for (const e of events) if (e.subject !== null && changed.has(e.subject) && !ticks.includes(e.type)) moved.add(e.subject);
      // Changed by something else than their own ticks (another entity's presence, say): all of them.
      for (const k of changed) if (!events.some((e) => e.subject === k)) moved.add(k);
      const upserts: string[] = [];
      const tickParts: string[] = [];
      for (const list of lists) {
        const members = list.members(ctx);
        const keys = members.map(key);
        const here = new Set(keys);
        for (const k of keys) everywhere.add(k);
        const items: T[] = [];
        for (const m of members) {
          if (!changed.has(key(m))) continue;
          if (spec.tickPart && !moved.has(key(m))) {
            const part = spec.tickPart(ctx, m);
            tickParts.push(morphPartial(part.id, part.html));
          } else items.push(m);
        }
        if (list.max !== undefined) {
          const left = [...moved].filter((k) => !here.has(k)).length;
          if (left > 0 && members.length + left > list.max) {
            const tail = members.filter((m) => !changed.has(key(m))).slice(-left);
            items.push(...tail);
          }
        }
        if (items.length > 0) upserts.push(upsertPartial(list.id, items.map((m) => item(ctx, m))));
      }
      for (const k of changed) if (!everywhere.has(k)) out.push(deletePartial(itemId(k)));
      out.push(...upserts, ...tickParts);
      // Ticks alone change no count: what the parts show stays as it was.
      if (moved.size > 0) for (const part of parts) out.push(morphPartial(part.id, part.render(ctx)));
      return out;
    },
  };
}

/** Digits enough for any millisecond time or event id: keys of one width compare as their numbers do. */
const WIDTH = 16;
const TOP = 10 ** WIDTH - 1;

/** A number as part of an order key, sorting ascending. */
export const ascending = (n: number): string => String(Math.max(0, Math.min(TOP, Math.trunc(n)))).padStart(WIDTH, "0");

/** A number as part of an order key, sorting descending (newest first). */
export const descending = (n: number): string => ascending(TOP - Math.max(0, Math.min(TOP, Math.trunc(n))));
