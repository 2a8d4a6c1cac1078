import { createHash } from "node:crypto";

const SAFE_ID = /^[A-Za-z0-9_-]{1,100}$/;

/**
 * An element id for a live item: `<prefix>-<id>`. Ids of producers may hold
 * any character but controls; those that are not safe in a CSS selector get
 * a hash instead, under `<prefix>h-` so the two kinds never collide.
 */
export function domId(prefix: string, id: string): string {
  return SAFE_ID.test(id) ? `${prefix}-${id}` : `${prefix}h-${createHash("sha256").update(id).digest("hex").slice(0, 20)}`;
}

