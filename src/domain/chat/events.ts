import { z } from "zod";
import type { TypeSpec } from "../domain.js";

/** Ids (sessions, messages, agents): no control characters, like subjects and worker ids. */
export const id = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\u0000-\u001f\u007f]+$/, "must not contain control characters");

/** The longest user message. */
export const MAX_MESSAGE_CHARS = 8000;
/** A tool run keeps only the last this many characters of its output. */
export const MAX_TOOL_OUTPUT_CHARS = 64 * 1024;

/** The target of chat commands: always the session's agent (never a kind of worker). */
const worker = id;

/** A session opened before its first message (the console's "new chat" with an agent picked). */
export const sessionStarted = z.strictObject({
  agent: id,
  title: z.string().min(1).max(200).optional(),
});

/**
 * A user's message: a command delivered to the session's agent. `agent`
 * opens the session on its first message; `worker` must be that agent.
 */
export const chatMessage = z.strictObject({
  message_id: id,
  text: z.string().min(1).max(MAX_MESSAGE_CHARS),
  agent: id.optional(),
  worker,
});

/**
 * `reply_to` names the user message an assistant message answers. The
 * first event of an answer (whichever arrives first) must carry it: that
 * is what creates the assistant message.
 */
const answer = {
  message_id: id,
  reply_to: id.optional(),
};

/**
 * Appended by Switchboard when a user's message got no answer from its
 * agent within COMMAND_TIMEOUT_MS: not delivered, or not answered. An answer
 * that comes later still counts (the message stays on the agent's stream).
 */
export const chatMessageExpired = z.strictObject({
  message_id: id,
  /** The agent that did not answer. */
  agent: id,
});

/** A piece of the agent's answer; pieces assemble in `seq` order, a repeated `seq` is ignored. */
export const chatDelta = z.strictObject({
  ...answer,
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  text: z.string().max(MAX_MESSAGE_CHARS),
});

export const chatCompleted = z.strictObject({ ...answer });

export const chatError = z.strictObject({
  ...answer,
  reason: z.string().min(1).max(1000),
});

/** A chunk of a tool's output: appended to what it printed so far (the last 64 KB are kept). */
const output = z.string().max(MAX_TOOL_OUTPUT_CHARS);

export const toolStarted = z.strictObject({
  session_id: id,
  /** The message the run belongs to; with `reply_to`, an answer not yet streamed is created by it. */
  ...answer,
  name: z.string().min(1).max(200),
  /** The tool's arguments, as the agent passed them (kept in the log only: see the report). */
  input: z.unknown().optional(),
});

export const toolProgress = z
  .strictObject({
    progress: z.number().min(0, "must be between 0 and 1").max(1, "must be between 0 and 1").optional(),
    output: output.optional(),
  })
  .refine((d) => d.progress !== undefined || d.output !== undefined, "needs progress (0..1), output, or both");

export const toolCompleted = z.strictObject({ output: output.optional() });
export const toolFailed = z.strictObject({ reason: z.string().min(1).max(1000) });
export const toolCancelled = z.strictObject({ reason: z.string().min(1).max(1000).optional() });
/** A command to the session's agent: stop this run; it answers with tool.cancelled (or whatever the run did end with). */
export const toolCancelRequested = z.strictObject({ worker, reason: z.string().min(1).max(1000).optional() });

/** chat.* events name the session in `subject`; tool.* events name the tool run. */
export const chatTypes: Record<string, TypeSpec> = {
  "chat.session_started": { schema: sessionStarted, subject: "required" },
  "chat.message": { schema: chatMessage, subject: "required", command: true },
  "chat.delta": { schema: chatDelta, subject: "required" },
  "chat.completed": { schema: chatCompleted, subject: "required" },
  "chat.error": { schema: chatError, subject: "required" },
  "chat.message_expired": { schema: chatMessageExpired, subject: "required", internal: true },
  "tool.started": { schema: toolStarted, subject: "required" },
  "tool.progress": { schema: toolProgress, subject: "required" },
  "tool.completed": { schema: toolCompleted, subject: "required" },
  "tool.failed": { schema: toolFailed, subject: "required" },
  "tool.cancelled": { schema: toolCancelled, subject: "required" },
  "tool.cancel_requested": { schema: toolCancelRequested, subject: "required", command: true },
};
