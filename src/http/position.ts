import { ApiError } from "./errors.js";

const DIGITS = /^\d{1,15}$/;

/**
 * Parses a log position (an event id) from a header or query value.
 * Absent → null; anything but a non-negative integer → 400.
 */
export function parsePosition(value: string | undefined, name: string): number | null {
  if (value === undefined || value === "") return null;
  const trimmed = value.trim();
  if (!DIGITS.test(trimmed)) {
    throw new ApiError(400, "invalid_position", `${name} must be an event id (a non-negative integer), not "${value.slice(0, 40)}"`);
  }
  return Number(trimmed);
}
