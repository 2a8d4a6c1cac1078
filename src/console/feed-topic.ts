import type { StoredEvent } from "../event.js";
import type { Db } from "../store/db.js";
import type { FeedContext, FeedFilter } from "./feed.js";

/**
 * How one topic's events read in the activity feed, from the domain that
 * owns the topic: which of its events are progress on something already in
 * the feed, and what its subjects are called.
 */
export interface FeedTopic {
  topic: string;
  /**
   * Progress reports (a workflow's tick, an answer's next words): by default
   * the feed shows no item for them, it folds the latest into the newest
   * item of their subject ("Workflow Render started · 42% — render").
   */
  ticks?: readonly string[];
  /**
   * The types whose items show the progress that follows them (a workflow
   * started, a question asked): their line for it is kept from the start,
   * so progress never changes an item's height. Progress after any other
   * item of its subject (one that ended it) shows nowhere.
   */
  folded?: readonly string[];
  /** What a subject is called where its id would mean little (a workflow's name, a session's title); null when unknown. */
  label?(db: Db, tenant: string, subject: string): string | null;
  /**
   * An event's data where a feed shows each item's data (`payloads`), in
   * the topic's own words: markup from an escaping template. Default: its
   * JSON under a fold.
   */
  payload?(ctx: FeedContext, f: FeedFilter, e: StoredEvent): string;
}

/** Every topic's feed wording, by topic. */
export type FeedTopics = ReadonlyMap<string, FeedTopic>;

export const feedTopics = (list: readonly FeedTopic[]): FeedTopics => new Map(list.map((t) => [t.topic, t]));
