import { topicOf } from "../domain/registry.js";
import type { StoredEvent } from "../event.js";
import type { Db } from "../store/db.js";
import type { EventLog } from "../store/event-log.js";
import { domId } from "./dom-id.js";
import type { FeedTopics } from "./feed-topic.js";
import { helpers } from "./helpers.js";
import { foldPartial, insertPartial } from "./partials.js";
import type { Views } from "./views.js";

/** The feed's filter, from the page URL: by platform (of activity messages) and by topic. */
export interface FeedFilter {
  platform: string | null;
  topic: string | null;
  /**
   * Every event as its own item (`?feed=all`, and a detail page's history),
   * progress reports included; otherwise the calm feed: changes of state,
   * with each subject's latest progress folded into its newest item.
   */
  every?: boolean;
  /** One entity's events only (a detail page's history); never from the URL. */
  subject?: string | null;
  /** One client's events only (the all-tenants view's `?client=`). */
  client?: string | null;
  /** Each item shows its event's data, folded (a detail page's timeline); never from the URL. */
  payloads?: boolean;
  /**
   * Private Mercure updates show their data: the viewer could receive them
   * from the hub. Never from the URL: only a page whose stream group is
   * keyed by that right sets it. Without it a feed says an update is
   * private, never what it holds.
   */
  privateData?: boolean;
}

/** What a feed renders from: the views, the state its labels are read from, its tenant (null: all) and its topics' wording. */
export interface FeedContext {
  views: Views;
  db: Db;
  tenant: string | null;
  feed: FeedTopics;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/;

export function feedFilter(query: Record<string, string | undefined>): FeedFilter {
  const pick = (v: string | undefined) => (v && NAME.test(v) ? v : null);
  return { platform: pick(query.platform), topic: pick(query.topic), every: query.feed === "all" };
}

/** The URL parameters a feed filter is written as (the page's query keeps them). */
export function feedParams(f: FeedFilter): Record<string, string> {
  return { ...(f.platform && { platform: f.platform }), ...(f.topic && { topic: f.topic }), ...(f.every && { feed: "all" }) };
}

/** Whether an event belongs in a filtered feed (the stream is filtered on the server). */
export function feedMatches(f: FeedFilter, e: StoredEvent, data: () => Record<string, unknown>): boolean {
  if (f.topic && topicOf(e.type) !== f.topic) return false;
  if (f.subject && e.subject !== f.subject) return false;
  if (f.platform && data().platform !== f.platform) return false;
  if (f.client && data().client !== f.client) return false;
  return true;
}

/** Whether the feed folds this event into an item instead of showing its own. */
export function isTick(ctx: FeedContext, f: FeedFilter, e: StoredEvent): boolean {
  return !f.every && e.subject !== null && (ctx.feed.get(topicOf(e.type))?.ticks?.includes(e.type) ?? false);
}

/**
 * Whether an item names its subject for progress to find (its topic has
 * ticks), in this feed: progress goes to the newest such item of its subject.
 */
function hasSubject(ctx: FeedContext, f: FeedFilter, e: StoredEvent): boolean {
  return !f.every && e.subject !== null && (ctx.feed.get(topicOf(e.type))?.ticks?.length ?? 0) > 0;
}

/** Whether an item shows the progress that follows it (it has the line for it). */
function takesFold(ctx: FeedContext, f: FeedFilter, e: StoredEvent): boolean {
  return hasSubject(ctx, f, e) && (ctx.feed.get(topicOf(e.type))?.folded?.includes(e.type) ?? false);
}

/** The subject an event concerns, across tenants and topics: the items and folds of one subject share it (`data-subject`). */
const subjectKey = (e: StoredEvent): string => domId("s", `${e.tenant}/${topicOf(e.type)}/${e.subject}`);

/** How many items the feed shows when rendered whole. */
export const FEED_SIZE = 50;

/** One item, with the latest progress folded into it (`tick`) when the feed is calm. */
export interface FeedItem {
  e: StoredEvent;
  tick?: StoredEvent;
}

/** One feed item (`ev-<id>`); on the all-tenants view it names its tenant. */
export function renderFeedItem(ctx: FeedContext, f: FeedFilter, item: FeedItem): string {
  const { e, tick } = item;
  const data = JSON.parse(e.data) as Record<string, unknown>;
  const topic = ctx.feed.get(topicOf(e.type));
  const label = e.subject === null ? null : (topic?.label?.(ctx.db, e.tenant, e.subject) ?? null);
  return ctx.views.render("partials/feed-item", {
    e,
    icon: helpers.eventIcon(e.type, data),
    summary: helpers.summary(e.type, e.subject, data, label),
    subject: hasSubject(ctx, f, e) ? subjectKey(e) : null,
    fold: takesFold(ctx, f, e) ? (tick ? foldText(tick) : "") : null,
    allTenants: ctx.tenant === null,
    payload: f.payloads && !topic?.payload ? JSON.stringify(data, null, 2) : null,
    detail: f.payloads && topic?.payload ? topic.payload(ctx, f, e) : null,
  });
}

/** The text a tick folds into its item. */
function foldText(tick: StoredEvent): string {
  return helpers.fold(tick.type, JSON.parse(tick.data) as Record<string, unknown>);
}

/**
 * The newest matching events, newest first, read backwards from the head in
 * pages; bounded so a rare filter never scans the whole log. A calm feed
 * skips progress reports, folding each subject's latest into the item it
 * followed, as the page stream does live.
 */
export async function recentFeed(log: EventLog, ctx: FeedContext, f: FeedFilter, head: number): Promise<FeedItem[]> {
  const out: FeedItem[] = [];
  // Reading newest first: the latest tick of each subject not yet given to an (older) item of it.
  const pending = new Map<string, StoredEvent>();
  const PAGE = 500;
  for (let before = head, scanned = 0; before > 0 && out.length < FEED_SIZE && scanned < 20_000; before -= PAGE, scanned += PAGE) {
    const after = Math.max(0, before - PAGE);
    const types = f.topic ? [`${f.topic}.*`] : [];
    const { events } = await log.read({ tenant: ctx.tenant, after, limit: PAGE, types, subject: f.subject ?? null });
    for (let i = events.length - 1; i >= 0 && out.length < FEED_SIZE; i--) {
      const e = events[i];
      if (e.id > before || !feedMatches(f, e, () => JSON.parse(e.data))) continue;
      if (isTick(ctx, f, e)) {
        if (!pending.has(subjectKey(e))) pending.set(subjectKey(e), e);
        continue;
      }
      const item: FeedItem = { e };
      if (hasSubject(ctx, f, e)) {
        if (takesFold(ctx, f, e)) item.tick = pending.get(subjectKey(e));
        pending.delete(subjectKey(e));
      }
      out.push(item);
    }
  }
  return out;
}

/** The whole feed list (its root is #feed-items), newest first. */
export async function renderFeed(log: EventLog, ctx: FeedContext, f: FeedFilter, head: number): Promise<string> {
  const items = await recentFeed(log, ctx, f, head);
  return ctx.views.render("partials/feed-items", { items: items.map((item) => renderFeedItem(ctx, f, item)) });
}

/** How a page stream renders feed markup: shared between page groups (see SharedRenders). */
export interface FeedRenders {
  item(item: FeedItem): string;
  fold(tick: StoredEvent): string;
}

/**
 * The feed's partials for a run of events (ascending ids): first the
 * progress folded into items the page already shows (the newest item of
 * each subject), then the new items, newest first, in one partial at the
 * top of the list. A tick that follows a new item of its subject in the
 * same run is folded into that item's markup instead.
 */
export function feedBatch(ctx: FeedContext, f: FeedFilter, events: readonly StoredEvent[], renders: FeedRenders): string[] {
  const items: FeedItem[] = [];
  /** Subjects with an item in this run: their ticks fold into it. */
  const open = new Map<string, FeedItem>();
  /** Subjects whose ticks fold into an item on the page, with the latest tick. */
  const onPage = new Map<string, StoredEvent>();
  for (const e of events) {
    let data: Record<string, unknown> | undefined;
    if (!feedMatches(f, e, () => (data ??= JSON.parse(e.data) as Record<string, unknown>))) continue;
    if (isTick(ctx, f, e)) {
      const item = open.get(subjectKey(e));
      if (item === undefined) onPage.set(subjectKey(e), e);
      else if (takesFold(ctx, f, item.e)) item.tick = e;
      continue;
    }
    const item: FeedItem = { e };
    items.push(item);
    if (hasSubject(ctx, f, e)) open.set(subjectKey(e), item);
  }
  const parts = onPage.size > 0 ? [foldPartial("feed-items", [...onPage.values()].map(renders.fold).join(""))] : [];
  if (items.length > 0) parts.push(insertPartial("feed-items", "afterbegin", items.reverse().map(renders.item).join("\n")));
  return parts;
}

/** A tick's fold on its own (`.fold`, naming its subject): what a tick's partial carries to the page (public/console.js, `foldMorph`). */
export function renderFold(ctx: FeedContext, tick: StoredEvent): string {
  return ctx.views.render("partials/feed-fold", { subject: subjectKey(tick), text: foldText(tick) });
}
