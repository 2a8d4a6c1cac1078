import { ApiError } from "./errors.js";

const DIGITS = /^[0-9]+$/;

/**
 * Parses a log position (an event id) from a header or query value.
 * Absent → null; anything but plain decimal digits (no sign, spaces,
 * exponent or hex) → 400; digits past the largest id the log can hand out
 * (2^53 − 1) → 400 saying so, rather than a rounded position.
 */
export function parsePosition(value: string | undefined, name: string): number | null {
  if (value === undefined || value === "") return null;
  if (!DIGITS.test(value)) {
    throw new ApiError(400, "invalid_position", `${name} must be an event id (plain decimal digits, like 42), not "${value.slice(0, 40)}"`);
  }
  const position = Number(value);
  if (!Number.isSafeInteger(position)) {
    throw new ApiError(400, "invalid_position", `${name} is out of range: ${value.slice(0, 40)} is beyond the largest position, ${Number.MAX_SAFE_INTEGER}`);
  }
  return position;
}
