import { topicOf } from "../domain/registry.js";
import type { StoredEvent } from "../event.js";
import type { Db } from "../store/db.js";
import type { EventLog } from "../store/event-log.js";
import type { FeedTopics } from "./feed-topic.js";
import type { Views } from "./views.js";

/** What a panel renders from: the tenant's state, read now, and who is looking. */
export interface PanelContext {
  views: Views;
  db: Db;
  /** Null on the all-tenants admin view. */
  tenant: string | null;
  /** Whether the viewer may press control buttons. */
  canControl: boolean;
  csrf: string;
  /** The page's query (filters live in the URL). */
  query: Record<string, string | undefined>;
  /** How each topic's events read in the feed. */
  feed: FeedTopics;
}

/**
 * A live-updating part of the console: one template, rendered by one
 * function, used by the page, by htmx requests for it alone, and by the
 * page stream when an event of its topics arrives.
 */
export interface Panel {
  /** The element id the partial replaces (its root carries it). */
  id: string;
  /** Topics whose events change what this panel shows. */
  topics: string[];
  render(ctx: PanelContext): string;
  /**
   * The panel as the page first shows it, when it has a frame that live
   * updates must never replace (filters, a form being typed in): the frame
   * around `render(ctx)`. Defaults to `render(ctx)`.
   */
  page?(ctx: PanelContext): string;
  /**
   * What the page stream sends for a run of events of its topics (ascending
   * ids), when less than the whole panel will do: `<hx-partial>` markup
   * updating only what they changed (one item of a list, one streamed
   * message), read from current state; none to send nothing. Default: the
   * whole panel, morphed.
   */
  update?(ctx: PanelContext, events: readonly StoredEvent[]): string[];
  /**
   * For a panel without `update`: whether a run of events of its topics
   * changes what it shows; when not, nothing is sent. The whole panel it
   * then sends is read from state alone, so every page group at one log
   * position shares one render of it (an `update` depends on its run's
   * events, which differ between groups). Default: every run changes it.
   */
  changedBy?(ctx: PanelContext, events: readonly StoredEvent[]): boolean;
  /**
   * The query parameters this panel renders from (its filters), validated
   * and normalized, unset ones left out. A page's context and its stream's
   * group are built from these alone, so unknown or junk parameters neither
   * reach a render nor split a group. Default: none.
   */
  params?(query: Record<string, string | undefined>): Record<string, string>;
  /** Whether it also renders across tenants (ctx.tenant null): such panels make the admin's all-tenants view. */
  allTenants?: boolean;
}

/**
 * A panel that lists the log's past events (a workflow's history): whole,
 * it renders from events read through the log, asynchronously, since on
 * PostgreSQL a node's copy of the state keeps only the log's latest events;
 * live, it is updated by its events as a panel is. A page with one renders
 * it after its state, at the head that state was read at.
 */
export interface HistoryPanel extends Pick<Panel, "id" | "topics" | "params"> {
  /** The whole panel, showing nothing above `head`. */
  render(ctx: PanelContext, log: EventLog, head: number): Promise<string>;
  update(ctx: PanelContext, events: readonly StoredEvent[]): string[];
}

/** The events of a panel's topics: what its `update` is given. */
export const eventsOf = (panel: Pick<Panel, "topics">, events: readonly StoredEvent[]): StoredEvent[] =>
  events.filter((e) => panel.topics.includes(topicOf(e.type)));
