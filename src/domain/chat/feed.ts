import type { FeedTopic } from "../../console/feed-topic.js";
import { findSession, findToolRun } from "./queries.js";

/** What a session is called where its id would mean nothing to a person: its title, else whom it is with. */
export const sessionLabel = (s: { title: string | null; agent: string }): string => s.title ?? `Chat with ${s.agent}`;

/** Chat in the feed: sessions by their title (or whom they are with), never their id; answers fold into the question's item. */
export const chatFeed: FeedTopic = {
  topic: "chat",
  // The pieces of an answer: they stream into a message that already exists.
  ticks: ["chat.delta"],
  folded: ["chat.message"],
  label(db, tenant, sessionId) {
    const session = findSession(db, tenant, sessionId);
    return session ? sessionLabel(session) : null;
  },
};

/** Tool runs in the feed: by the tool's name; progress folds into the run's "started" item. */
export const toolsFeed: FeedTopic = {
  topic: "tool",
  ticks: ["tool.progress"],
  folded: ["tool.started"],
  label: (db, tenant, toolId) => findToolRun(db, tenant, toolId)?.name ?? null,
};
