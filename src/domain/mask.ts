const MASK = "•••";

/**
 * Masks a phone number to its last 4 digits, so the full number is never
 * stored or streamed: `+1 415 555 0123` → `•••0123`. A value without digits
 * is not a number (`web` for a browser call, `unknown`) and stays as it is;
 * already-masked values pass through, so masking twice is safe.
 */
export function maskNumber(value: string): string {
  if (value.startsWith(MASK)) return value;
  const digits = value.replace(/\D/g, "");
  if (digits.length === 0) return value;
  return MASK + digits.slice(-4);
}

/**
 * Masks any sender identifier (a phone number, an e-mail address, a user
 * handle) to its last 4 characters: `ada@example.com` → `•••.com`, and a
 * phone number to its last 4 digits as maskNumber does.
 */
export function maskSender(value: string): string {
  if (value.startsWith(MASK)) return value;
  return /\d{5,}/.test(value.replace(/[\s().+-]/g, "")) ? maskNumber(value) : MASK + value.slice(-4);
}
