import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { z } from "zod";
import type { AppEnv } from "./env.js";
import { ApiError } from "./errors.js";
import { jsonDepth } from "./json-depth.js";

/** A command body is one event's data and a few fields; the event's own size limit applies again on append. */
export function commandBodyLimit(maxEventBytes: number) {
  const max = maxEventBytes + 4096;
  return bodyLimit({
    maxSize: max,
    onError: () => {
      throw new ApiError(413, "body_too_large", `the body is larger than ${max} bytes`);
    },
  });
}

/**
 * The request's JSON body checked against `schema` (400 with the field and
 * why). An empty body reads as `{}`, so commands without fields need none.
 * A body nesting deeper than `maxDepth` (MAX_JSON_DEPTH) is refused before
 * it is parsed: its objects become event data, which must stay shallow
 * enough to serialize.
 */
export async function readBody<T extends z.ZodType>(c: Context<AppEnv>, schema: T, maxDepth: number): Promise<z.output<T>> {
  const text = await c.req.text();
  let input: unknown = {};
  if (text.trim() !== "") {
    if (!/^application\/json\s*(;|$)/i.test(c.req.header("content-type") ?? "")) {
      throw new ApiError(415, "unsupported_media_type", "the body must be JSON (Content-Type: application/json)");
    }
    if (jsonDepth(text, maxDepth) > maxDepth) {
      throw new ApiError(400, "too_deep", `the body nests deeper than ${maxDepth} levels, the limit (MAX_JSON_DEPTH)`);
    }
    try {
      input = JSON.parse(text);
    } catch (err) {
      throw new ApiError(400, "invalid_json", `the body is not valid JSON: ${(err as Error).message}`);
    }
  }
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const reason =
    issue.code === "unrecognized_keys"
      ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(", ")}`
      : issue.path.length === 0
        ? "the body must be a JSON object"
        : `${issue.path.join(".")}: ${issue.message}`;
  throw new ApiError(400, "invalid_request", reason);
}
