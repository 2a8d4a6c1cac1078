/** Formatting helpers available to every template as `it.h`. Pure functions. */

// Glyphs every common font has (emoji are missing on many servers and kiosks).
const PLATFORM_ICONS: Record<string, string> = {
  whatsapp: "WA",
  telegram: "TG",
  slack: "SL",
  sms: "SMS",
  email: "@",
  webchat: "WEB",
};

const TOPIC_ICONS: Record<string, string> = {
  call: "☎",
  agent: "◉",
  channel: "⇄",
  workflow: "⚙",
  chat: "✎",
  tool: "⚒",
  activity: "✉",
  mercure: "☿",
};

export const helpers = {
  /** ISO time for a `<time datetime>`; console.js keeps the relative text ticking. */
  iso: (ms: number | string | null | undefined): string => (ms == null ? "" : new Date(ms).toISOString()),

  /** "3s ago", "5m ago", "2h ago", else a date; the server's first rendering of a ticking time. */
  ago(ms: number | string, now = Date.now()): string {
    const s = Math.max(0, Math.round((now - new Date(ms).getTime()) / 1000));
    if (s < 60) return `${s}s ago`;
    if (s < 3600) return `${Math.floor(s / 60)}m ago`;
    if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
    return new Date(ms).toISOString().slice(0, 10);
  },

  /** 75000 → "1:15", 3723000 → "1:02:03". */
  duration(ms: number | null | undefined): string {
    if (ms == null) return "—";
    const total = Math.round(ms / 1000);
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = String(total % 60).padStart(2, "0");
    return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
  },

  /** 1234567 → "1,234,567". */
  number: (n: number): string => n.toLocaleString("en-US"),

  /** Events per second, readable: 0.05 → "0.05", 2.5 → "2.5", 120.4 → "120". */
  rate: (r: number): string => (r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r === 0 ? "0" : r.toFixed(2)),

  /** 0.42 → "42%". */
  percent: (p: number): string => `${Math.round(p * 100)}%`,

  platformIcon: (platform: string): string => PLATFORM_ICONS[platform] ?? platform.slice(0, 3).toUpperCase(),

  /** An icon by the event's platform when it has one, else by its topic. */
  eventIcon(type: string, data: Record<string, unknown>): string {
    if (typeof data.platform === "string") return PLATFORM_ICONS[data.platform] ?? data.platform.slice(0, 3).toUpperCase();
    return TOPIC_ICONS[type.split(".")[0]] ?? "•";
  },

  /**
   * A short, readable line for any event, for the activity feed. `label` is
   * what its subject is called (a workflow's name, a session's title, a
   * call's masked number), used in place of the bare id when known.
   */
  summary(type: string, subject: string | null, data: Record<string, unknown>, label: string | null = null): string {
    const d = data as Record<string, string | number | undefined>;
    const who = label ?? subject ?? "";
    switch (type) {
      case "call.started":
        return `${d.direction === "outbound" ? "Outbound" : "Inbound"} call ${d.number ?? ""}${d.agent ? ` with ${d.agent}` : ""}`;
      case "call.ended":
        return `Call ${who} ended (${d.status ?? "completed"})`;
      case "call.analyzed":
        return `Call ${who} analyzed${d.sentiment ? `: ${d.sentiment}` : ""}${d.summary ? ` — ${String(d.summary).slice(0, 120)}` : ""}`;
      case "agent.status":
        return `${d.name ?? who} is ${d.status}`;
      case "agent.connected":
        return `${who} connected`;
      case "agent.disconnected":
        return `${who} disconnected`;
      case "activity.message":
        return `${d.direction === "in" ? "⟵" : "⟶"} ${d.sender ? `${d.sender}: ` : ""}${d.preview ?? ""}`;
      case "channel.connect_requested":
        return `Connecting ${d.name ?? who} (${d.platform})`;
      case "channel.progress":
        return `${who}: step ${d.step}/${d.total} ${d.label ?? ""}`;
      case "channel.connected":
        return `Channel ${who} connected`;
      case "channel.failed":
        return `Channel ${who} failed: ${d.reason ?? ""}`;
      case "channel.removed":
        return `Channel ${who} removed${d.reason ? `: ${d.reason}` : ""}`;
      case "channel.disconnect_requested":
        return `Disconnecting channel ${who}`;
      case "channel.disconnected":
        return `Channel ${who} disconnected${d.reason ? `: ${d.reason}` : ""}`;
      case "workflow.started":
        return `Workflow ${d.name ?? who} started`;
      case "workflow.progress":
        return `${who} at ${Math.round(Number(d.progress) * 100)}%${d.stage ? ` — ${d.stage}` : ""}`;
      case "workflow.failed":
        return `Workflow ${who} failed: ${d.reason ?? ""}`;
      case "workflow.control_requested":
        return `${who}: ${d.action} requested (sent to ${d.worker})${d.reason ? ` — reason: ${d.reason}` : ""}`;
      case "workflow.control_expired":
        return `${who}: ${d.action} expired, the worker did not answer`;
      case "workflow.paused":
      case "workflow.resumed":
      case "workflow.completed":
      case "workflow.retried":
        return `Workflow ${who} ${type.slice("workflow.".length)}`;
      case "workflow.cancelled":
        return `Workflow ${who} cancelled${d.reason ? `: ${d.reason}` : ""}`;
      case "chat.session_started":
        return `New chat with ${d.agent}${d.title ? `: ${d.title}` : ""}`;
      case "chat.message":
        return `Message in ${who}: ${String(d.text ?? "").slice(0, 80)}`;
      case "chat.message_expired":
        return `Message in ${who} not answered: ${d.agent} did not answer in time`;
      case "chat.delta":
        return `Answer in ${who}: …${String(d.text ?? "").slice(-60)}`;
      case "chat.completed":
        return `Answered in ${who}`;
      case "chat.error":
        return `No answer in ${who}: ${d.reason ?? ""}`;
      case "tool.started":
        return `Tool ${d.name ?? who} started`;
      case "tool.progress":
        return `Tool ${who}${d.progress !== undefined ? ` at ${Math.round(Number(d.progress) * 100)}%` : ": more output"}`;
      case "tool.completed":
        return `Tool ${who} completed`;
      case "tool.failed":
        return `Tool ${who} failed: ${d.reason ?? ""}`;
      case "tool.cancel_requested":
        return `Cancel of tool ${who} requested`;
      case "tool.cancelled":
        return `Tool ${who} cancelled${d.reason ? `: ${d.reason}` : ""}`;
      case "mercure.update": {
        // Its topics and type, never its data: the feeds of every page show this line, whoever looks.
        const topics = Array.isArray(data.topics) ? data.topics.map(String) : [];
        const more = topics.length > 1 ? ` (+${topics.length - 1} more topic${topics.length > 2 ? "s" : ""})` : "";
        const sse = typeof data.type === "string" ? ` · ${data.type.slice(0, 80)}` : "";
        return `${data.private === true ? "Private update" : "Update"} on ${(topics[0] ?? "").slice(0, 160)}${more}${sse}`;
      }
      default: {
        // Generic events: their type and subject, and the first text field a producer is likely to send.
        const text = ["message", "text", "title", "summary", "status"].map((k) => d[k]).find((v) => typeof v === "string");
        return `${type}${subject ? ` · ${subject}` : ""}${text ? ` — ${String(text).slice(0, 160)}` : ""}`;
      }
    }
  },

  /** What a progress report adds to its subject's newest feed item, when the feed folds it there. */
  fold(type: string, data: Record<string, unknown>): string {
    const d = data as Record<string, string | number | undefined>;
    switch (type) {
      case "workflow.progress":
        return `${Math.round(Number(d.progress) * 100)}%${d.stage ? ` — ${d.stage}` : ""}${d.task ? ` · ${d.task}` : ""}`;
      case "channel.progress":
        return `step ${d.step} of ${d.total}${d.label ? ` · ${d.label}` : ""}`;
      case "tool.progress":
        return d.progress !== undefined ? `${Math.round(Number(d.progress) * 100)}%` : "running…";
      case "chat.delta":
        return "answering…";
      default:
        return "";
    }
  },
};

export type Helpers = typeof helpers;
