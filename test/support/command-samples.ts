import { z } from "zod";
import type { TypeSpec } from "../../src/domain/domain.js";
import { createDomains } from "../../src/domain/index.js";
import { topicOf } from "../../src/domain/registry.js";
import { createLogger } from "../../src/logger.js";
import { publish } from "./server.js";
import { openSqliteLog } from "./sqlite-log.js";

/**
 * Raw command events of whatever command types the domains register, for
 * tests of the worker command stream that must not depend on one domain's
 * schema. Each type's data is built from its own zod schema (the smallest
 * valid object), and when its projection refuses a command for an entity
 * that does not exist yet, the first event of its topic that a producer may
 * publish (e.g. `workflow.started`) is published first for that subject.
 */

export interface CommandType {
  type: string;
  spec: TypeSpec;
  /** The topic's producer-published, non-command types, in declaration order: what can create the entity. */
  seeds: { type: string; spec: TypeSpec }[];
}

/** The command types the server registers (read from the same registry, built over a scratch database). */
export async function registeredCommandTypes(): Promise<CommandType[]> {
  const { log, db, dispose } = await openSqliteLog([], 1);
  try {
    const domains = createDomains({ db, log, logger: createLogger("silent"), commandTimeoutMs: 60_000 });
    domains.stop();
    const specs = new Map<string, TypeSpec>(domains.list.flatMap((d) => Object.entries(d.types)));
    return domains.commandTypes().map((type) => ({
      type,
      spec: specs.get(type)!,
      seeds: [...specs]
        .filter(([t, s]) => topicOf(t) === topicOf(type) && !s.command && !s.internal)
        .map(([t, s]) => ({ type: t, spec: s })),
    }));
  } finally {
    await dispose();
  }
}

/**
 * The smallest data `schema` accepts with `fill` applied to the fields it
 * has (and `omit` removed), or null when it accepts none: e.g. a command
 * that needs a `worker` cannot be addressed to a kind alone.
 */
export function sampleData(schema: z.ZodType, fill: Record<string, unknown>, omit: string[] = []): Record<string, unknown> | null {
  let json: JsonSchema;
  try {
    json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  } catch {
    json = {};
  }
  const base = (instance(json) ?? {}) as Record<string, unknown>;
  const props = json.properties ?? {};
  for (const [k, v] of Object.entries(fill)) if (k in props) base[k] = v;
  for (const k of omit) delete base[k];
  return schema.safeParse(base).success ? base : null;
}

export interface PublishedCommand {
  id: number;
  type: string;
  subject: string | null;
}

let serial = 0;

/**
 * Publishes one raw command addressed to `target` with the first registered
 * type that takes it; throws with every type's reason when none does.
 */
export async function publishCommand(
  server: { url: string },
  tenant: string,
  commands: CommandType[],
  target: { worker: string } | { kind: string },
): Promise<PublishedCommand> {
  const reasons: string[] = [];
  const worker = "worker" in target ? target.worker : `seed-worker-${++serial}`;
  // Fields that name who runs the entity (a workflow's worker, a session's agent) point at the target worker.
  const owner = { worker, agent: worker };
  for (const c of commands) {
    const data = "worker" in target ? sampleData(c.spec.schema, { ...owner }) : sampleData(c.spec.schema, { kind: target.kind, agent: worker }, ["worker"]);
    if (data === null) {
      reasons.push(`${c.type}: its schema cannot be addressed to ${JSON.stringify(target)}`);
      continue;
    }
    const subject = `cmd-${++serial}`;
    const event = { type: c.type, subject, data };
    let res = await publish(server, tenant, event);
    if (res.status !== 201) {
      // The entity may have to exist first: publish the first event of the topic that creates it.
      for (const seed of c.seeds) {
        const seedData = sampleData(seed.spec.schema, owner);
        if (seedData === null) continue;
        if ((await publish(server, tenant, { type: seed.type, subject, data: seedData })).status === 201) {
          res = await publish(server, tenant, event);
          break;
        }
      }
    }
    if (res.status === 201) return { id: res.body.ids[0], type: c.type, subject };
    reasons.push(`${c.type}: ${res.status} ${res.body.message}${res.body.details ? ` ${JSON.stringify(res.body.details)}` : ""}`);
  }
  throw new Error(`no registered command type could be published to ${JSON.stringify(target)}:\n  ${reasons.join("\n  ") || "(none registered)"}`);
}

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  minItems?: number;
  default?: unknown;
}

const WORDS = ["x", "pause", "test", "default", "a1", "whatsapp", "item"];

/** The smallest value a JSON schema (as zod writes it) accepts, as far as a simple walk can tell. */
function instance(s: JsonSchema, index = 0): unknown {
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) return instance(alternatives.find((a) => a.type !== "null") ?? alternatives[0], index);
  if (s.allOf) return Object.assign({}, ...s.allOf.map((a) => instance(a, index)));
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type;
  switch (type) {
    case "object": {
      const out: Record<string, unknown> = {};
      for (const key of s.required ?? []) out[key] = instance(s.properties?.[key] ?? {});
      return out;
    }
    case "array":
      return Array.from({ length: s.minItems ?? 0 }, (_, i) => instance(s.items ?? {}, i));
    case "string": {
      const min = s.minLength ?? 1;
      const fits = (w: string) => w.length >= min && (s.maxLength === undefined || w.length <= s.maxLength) && (!s.pattern || new RegExp(s.pattern).test(w));
      const words = WORDS.map((w) => (index === 0 ? w : `${w}${index}`));
      return words.find(fits) ?? "x".repeat(Math.max(1, min));
    }
    case "integer":
    case "number": {
      const low = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1);
      return s.maximum !== undefined && low > s.maximum ? s.maximum : low;
    }
    case "boolean":
      return false;
    case "null":
      return null;
    default:
      return s.default ?? "x";
  }
}
