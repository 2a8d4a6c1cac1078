import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ApiError } from "../http/errors.js";

/**
 * Console forms are a few fields, the largest a chat message (at most an
 * event's data): a larger body is refused as it arrives, before it is
 * parsed, so no form post can take memory without bound.
 */
export function formBodyLimit(maxEventBytes: number): MiddlewareHandler {
  const max = maxEventBytes + 16 * 1024;
  return bodyLimit({
    maxSize: max,
    onError: () => {
      throw new ApiError(413, "body_too_large", `a console form is at most ${max} bytes`);
    },
  });
}
