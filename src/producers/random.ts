import { createHash } from "node:crypto";

/**
 * A deterministic random generator (mulberry32) seeded from a string: the
 * same command or message always takes the same course, so a replayed
 * command publishes the same events under the same idempotency keys.
 */
export function seeded(text: string): () => number {
  let a = createHash("sha256").update(text).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(rand: () => number, items: readonly T[]): T => items[Math.floor(rand() * items.length)];
