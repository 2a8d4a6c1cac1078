import { ApiError } from "./errors.js";

const DIGITS = /^[0-9]{1,7}$/;

/**
 * Parses a page size from `?limit=`: absent → `fallback`; plain decimal
 * digits from 1 to `max` (no sign, spaces, exponent or hex: `1e3` and
 * `0x10` are not limits) → the number; anything else → 400.
 */
export function parseLimit(text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const limit = DIGITS.test(text) ? Number(text) : Number.NaN;
  if (!(limit >= 1 && limit <= max)) {
    throw new ApiError(400, "invalid_limit", `limit must be a whole number from 1 to ${max} in plain decimal digits, not "${text.slice(0, 40)}"`);
  }
  return limit;
}
