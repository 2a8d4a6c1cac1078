import { ADMIN_KEY } from "./server.js";

/** Signs in through the login form with `key`, as a browser would; returns the session cookie (`name=value`). */
export async function sessionCookie(server: { url: string }, key = ADMIN_KEY): Promise<string> {
  const login = await fetch(`${server.url}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: server.url },
    body: new URLSearchParams({ key }),
  });
  const cookie = login.headers.get("set-cookie");
  if (login.status !== 303 || !cookie) throw new Error(`login answered ${login.status}`);
  return cookie.split(";")[0];
}

/** One `<hx-partial>` of a page stream's message: where it goes, how, and its markup. */
export interface Partial {
  target: string;
  swap: string;
  html: string;
}

const PARTIAL = /<hx-partial hx-target="#([^"]+)" hx-swap="([^"]+)">([\s\S]*?)<\/hx-partial>/g;

/** The partials of one page stream message, in order. */
export function partialsOf(data: string): Partial[] {
  return [...data.matchAll(PARTIAL)].map((m) => ({ target: m[1], swap: m[2], html: m[3] }));
}

/** The feed's item ids as the page shows them (newest first) after applying `messages` in order, starting empty. */
export function feedAfter(messages: readonly { data: string }[]): number[] {
  let shown: number[] = [];
  for (const m of messages) {
    for (const p of partialsOf(m.data)) {
      if (p.target !== "feed-items") continue;
      const ids = [...p.html.matchAll(/data-id="(\d+)"/g)].map((x) => Number(x[1]));
      if (p.swap === "afterbegin") shown = [...ids, ...shown];
      else if (p.swap === "outerHTML") shown = ids;
    }
  }
  return shown;
}
