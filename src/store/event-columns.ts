import type { NewEvent, StoredEvent } from "../event.js";

/**
 * Events as columns, for crossing between threads. Structured cloning an
 * array of objects writes and re-reads every property name of every event
 * and builds each object property by property; a few arrays of strings and
 * numbers clone several times faster, and the receiver builds each event
 * from one object literal.
 */
export interface NewEventColumns {
  types: string[];
  subjects: (string | null)[];
  data: string[];
  keys: (string | null)[];
  fingerprints: (string | null)[];
}

export interface StoredEventColumns extends Omit<NewEventColumns, "fingerprints"> {
  ids: number[];
  tenants: string[];
  ts: number[];
}

export function packNew(events: readonly NewEvent[], from = 0, to = events.length): NewEventColumns {
  const n = to - from;
  const columns: NewEventColumns = { types: new Array(n), subjects: new Array(n), data: new Array(n), keys: new Array(n), fingerprints: new Array(n) };
  for (let i = 0; i < n; i++) {
    const e = events[from + i];
    columns.types[i] = e.type;
    columns.subjects[i] = e.subject;
    columns.data[i] = e.data;
    columns.keys[i] = e.key;
    columns.fingerprints[i] = e.fingerprint ?? null;
  }
  return columns;
}

/** Appends the events of `columns` to `out`. */
export function unpackNew(columns: NewEventColumns, out: NewEvent[]): NewEvent[] {
  const { types, subjects, data, keys, fingerprints } = columns;
  for (let i = 0; i < types.length; i++) out.push({ type: types[i], subject: subjects[i], data: data[i], key: keys[i], fingerprint: fingerprints[i] });
  return out;
}

export function packStored(events: readonly StoredEvent[]): StoredEventColumns {
  const n = events.length;
  const columns: StoredEventColumns = { ids: new Array(n), tenants: new Array(n), types: new Array(n), subjects: new Array(n), data: new Array(n), keys: new Array(n), ts: new Array(n) };
  for (let i = 0; i < n; i++) {
    const e = events[i];
    columns.ids[i] = e.id;
    columns.tenants[i] = e.tenant;
    columns.types[i] = e.type;
    columns.subjects[i] = e.subject;
    columns.data[i] = e.data;
    columns.keys[i] = e.key;
    columns.ts[i] = e.ts;
  }
  return columns;
}

export function unpackStored(columns: StoredEventColumns): StoredEvent[] {
  const { ids, tenants, types, subjects, data, keys, ts } = columns;
  const events: StoredEvent[] = new Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    events[i] = { id: ids[i], tenant: tenants[i], type: types[i], subject: subjects[i], data: data[i], key: keys[i], ts: ts[i] };
  }
  return events;
}
