import { topicOf } from "../domain/registry.js";
import type { StoredEvent } from "../event.js";
import type { Db } from "../store/db.js";
import { countLabel } from "./overview-count.js";
import type { Panel, PanelContext } from "./panels.js";

/** A count on a tile, linking to the list page filtered to what it counts. */
export interface OverviewCount {
  /** "running", "offline"… */
  label: string;
  /** At most COUNT_CAP + 1 (shown as "999+"): see cappedCount. */
  count: number;
  href: string;
  /** How a non-zero count reads: a failure is bad, a pause or an offline agent a warning. */
  tone?: "bad" | "warn";
}

/** One domain's tile: its name, linking to its list page; a main count, then the others. */
export interface OverviewTile {
  /** The domain's name in ids (`tile-workflows`). */
  id: string;
  title: string;
  href: string;
  counts: OverviewCount[];
}

/** Kinds of trouble, each with its badge. */
export type AttentionKind = "failed" | "paused" | "offline" | "error" | "waiting" | "expired";

/** One thing an operator should look at: what, since when, and where its page is. */
export interface AttentionEntry {
  kind: AttentionKind;
  /** What it is ("workflow", "agent"…), said beside its name. */
  what: string;
  /** Its name as a person knows it (a workflow's name, a session's title), never a bare id where a name exists. */
  label: string;
  /** A short reason (the error, whom a message waits for), if any. */
  detail: string | null;
  href: string;
  /** When it got into this state (ms), and the log position of that change: entries are newest first. */
  at: number;
  eventId: number;
}

/** Every entry of one kind: how many there are (bounded) and the list page showing them all. */
export interface AttentionGroup {
  kind: AttentionKind;
  /** As its entries' `what`. */
  what: string;
  /** "failed workflows". */
  label: string;
  count: number;
  href: string;
}

/** What a domain knows needs attention: its newest entries and a group per kind. */
export interface Attention {
  entries: AttentionEntry[];
  groups: AttentionGroup[];
}

/**
 * One domain's part of the tenant overview, read from its projection
 * through indexes: every query bounded (at most `limit` rows, counts up to
 * a cap), since the overview is read again on every event of its topics.
 */
export interface OverviewSource {
  /** Topics whose events may change its tile or its entries. */
  topics: string[];
  tile(db: Db, tenant: string): OverviewTile;
  /** At most `limit` entries, newest first. */
  attention?(db: Db, tenant: string, limit: number): Attention;
  /** Events that change nothing the overview shows (progress reports): none of them, nothing is sent. */
  quiet?(db: Db, e: StoredEvent): boolean;
}

/** How many entries the attention list shows; the rest are a "see all" away. */
export const ATTENTION_SIZE = 8;

/** The overview's element ids, the roots of its two live panels. */
export const OVERVIEW_TILES = "overview-tiles";
export const OVERVIEW_ATTENTION = "overview-attention";

/** The tenant's link base: slugs need no escaping, but the URL is built in one place. */
export const tenantPath = (tenant: string) => `/t/${encodeURIComponent(tenant)}`;

/**
 * Every domain's entries merged, newest first, at most `limit`; and the
 * groups with more entries than the list shows (its "see all" links).
 */
export function mergeAttention(parts: readonly Attention[], limit = ATTENTION_SIZE): Attention {
  const entries = parts
    .flatMap((p) => p.entries)
    .sort((a, b) => b.at - a.at || b.eventId - a.eventId)
    .slice(0, limit);
  const shown = (g: AttentionGroup) => entries.filter((e) => e.kind === g.kind && e.what === g.what).length;
  return { entries, groups: parts.flatMap((p) => p.groups).filter((g) => g.count > shown(g)) };
}

/**
 * The overview's panels: the count tiles and the "needs attention" list.
 * Each is small and read from indexes, so a change is sent as the whole
 * panel, morphed; a run of events that can change neither (progress
 * reports, streamed words) sends nothing.
 */
export function overviewPanels(sources: readonly OverviewSource[]): Panel[] {
  const moved = (ctx: PanelContext, events: readonly StoredEvent[], of: readonly OverviewSource[]) =>
    events.some((e) => of.some((s) => s.topics.includes(topicOf(e.type)) && !(s.quiet?.(ctx.db, e) ?? false)));
  const panel = (id: string, of: readonly OverviewSource[], render: (ctx: PanelContext) => string): Panel => ({
    id,
    topics: [...new Set(of.flatMap((s) => s.topics))],
    render,
    changedBy: (ctx, events) => moved(ctx, events, of),
  });
  const withAttention = sources.filter((s) => s.attention);
  return [panel(OVERVIEW_TILES, sources, (ctx) => renderTiles(ctx, sources)), panel(OVERVIEW_ATTENTION, withAttention, (ctx) => renderAttention(ctx, withAttention))];
}

function renderTiles(ctx: PanelContext, sources: readonly OverviewSource[]): string {
  const tiles = ctx.tenant ? sources.map((s) => s.tile(ctx.db, ctx.tenant!)) : [];
  return ctx.views.render("partials/overview-tiles", { id: OVERVIEW_TILES, tiles, countLabel });
}

function renderAttention(ctx: PanelContext, sources: readonly OverviewSource[]): string {
  const { entries, groups } = ctx.tenant ? mergeAttention(sources.map((s) => s.attention!(ctx.db, ctx.tenant!, ATTENTION_SIZE))) : { entries: [], groups: [] };
  return ctx.views.render("partials/overview-attention", { id: OVERVIEW_ATTENTION, entries, groups, countLabel });
}
