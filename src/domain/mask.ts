/**
 * Masks a phone number (or any identifier) to its last 4 characters, so the
 * full value is never stored or streamed: `+14155550123` → `•••0123`.
 * Already-masked values pass through unchanged, so masking twice is safe.
 */
export function maskNumber(value: string): string {
  if (value.startsWith(MASK)) return value;
  const digits = value.replace(/\D/g, "");
  const tail = (digits.length >= 4 ? digits : value).slice(-4);
  return MASK + tail;
}

const MASK = "•••";
