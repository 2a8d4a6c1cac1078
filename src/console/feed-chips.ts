import { feedFilter } from "./feed.js";

/** The topics a feed can be narrowed to, with the chip that does it. */
const CHIPS: readonly { topic: string; label: string }[] = [
  { topic: "call", label: "Calls" },
  { topic: "agent", label: "Agents" },
  { topic: "channel", label: "Channels" },
  { topic: "activity", label: "Messages" },
  { topic: "workflow", label: "Workflows" },
  { topic: "chat", label: "Chat" },
  { topic: "tool", label: "Tools" },
];

/** A link that changes the feed's filter, keeping the rest of the page's query. */
export interface FeedChip {
  label: string;
  href: string;
  current: boolean;
}

/**
 * The feed's filter chips for a page at `path` with `query` (its validated
 * filters): one per topic and "All", and the switch between the calm feed
 * and every event. Plain links: they work without JavaScript, and the new
 * filter lives in the URL.
 */
export function feedChips(path: string, query: Record<string, string>): { topics: FeedChip[]; every: FeedChip } {
  const f = feedFilter(query);
  const link = (change: Record<string, string | null>) => {
    const next = new URLSearchParams(Object.entries(query).filter(([k]) => k !== "after"));
    for (const [k, v] of Object.entries(change)) {
      if (v === null) next.delete(k);
      else next.set(k, v);
    }
    const q = next.toString();
    return q ? `${path}?${q}` : path;
  };
  const topics = [{ label: "All", href: link({ topic: null }), current: f.topic === null }];
  for (const chip of CHIPS) topics.push({ label: chip.label, href: link({ topic: chip.topic }), current: f.topic === chip.topic });
  const every = { label: "Every event", href: link({ feed: f.every ? null : "all" }), current: f.every === true };
  return { topics, every };
}
