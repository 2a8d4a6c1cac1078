import { appendOne } from "../http/append.js";
import type { DomainDeps } from "./domain.js";

export type AppendDeps = Pick<DomainDeps, "log" | "maxEventBytes" | "domains">;

/**
 * Appends an event a domain builds itself (a command from an API route or a
 * console button) through the same validation as a producer's event;
 * returns its id.
 */
export function appendDomainEvent(
  deps: AppendDeps,
  tenant: string,
  event: { type: string; subject: string; data: Record<string, unknown>; key?: string | null },
): Promise<number> {
  return appendOne(deps.log, tenant, event, { maxEventBytes: deps.maxEventBytes, checkData: deps.domains.normalize });
}
