export class OriginError extends Error {}

// scheme://host[:port] and nothing else: no path (not even "/"), query, fragment or user.
const ORIGIN = /^https?:\/\/[^/?#@\s]+$/i;

/**
 * An origin a tenant's hub may answer browsers from (CORS), as browsers
 * send it in `Origin`: `https://app.example.com`, lower-cased, default port
 * dropped. `*` is refused: the hub's responses carry credentials (the
 * cookie), and a wildcard would hand them to every site.
 */
export function parseOrigin(text: string): string {
  const value = text.trim();
  if (value === "*") throw new OriginError("* is not allowed as a CORS origin (the hub's cookies would reach every site): list each origin");
  let url: URL | null = null;
  if (ORIGIN.test(value)) {
    try {
      url = new URL(value);
    } catch {
      url = null;
    }
  }
  if (url === null) {
    const hint = /^https?:\/\/[^/?#]+\//i.exec(value)?.[0].slice(0, -1);
    throw new OriginError(`"${value.slice(0, 100)}" is not an origin: scheme://host[:port] with http or https, nothing after it${hint ? ` (did you mean ${hint}?)` : ""}`);
  }
  return url.origin;
}
