import type { Context } from "hono";
import type { NodeBindings } from "./env.js";

/**
 * The address a request came from. With `trustProxy` = 0 it is the socket's
 * peer; behind n reverse proxies that each append to X-Forwarded-For it is
 * the n-th entry from the right: the last one our own proxies vouch for.
 * Entries further left are whatever the client sent and prove nothing. A
 * header shorter than n entries falls back to its leftmost entry.
 */
export function clientAddress(c: Context, trustProxy: number): string {
  const socket = (c.env as NodeBindings).incoming.socket.remoteAddress ?? "";
  if (trustProxy === 0) return socket;
  const forwarded = (c.req.header("x-forwarded-for") ?? "")
    .split(",")
    .map((a) => a.trim())
    .filter(Boolean);
  if (forwarded.length === 0) return socket;
  return forwarded[Math.max(0, forwarded.length - trustProxy)];
}

/**
 * What a per-address limit counts under: an IPv4 address as it is, an IPv6
 * address by its /64 (one host is usually given a whole /64, so counting
 * single IPv6 addresses would let it rotate past any limit).
 */
export function addressGroup(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (!address.includes(":")) return address;
  const [head, tail = ""] = address.toLowerCase().split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = address.includes("::") ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}
