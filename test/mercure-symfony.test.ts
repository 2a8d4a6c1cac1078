import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { EventSource, type FetchLikeResponse } from "eventsource";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { cli } from "./support/database.js";
import { ADMIN_KEY, api, startTestServer, type TestServer } from "./support/server.js";
import { createTenant } from "./support/tenants.js";

/**
 * Interoperability with a real Mercure publisher: Symfony's Mercure
 * component (Debian's php-symfony-mercure, run by PHP in a child process)
 * publishes public and private updates, with alternate topics, through
 * both of Symfony's HTTP transports, to the well-known hub (configured by
 * environment) and to a tenant's hub (its key set by `mercure set-key`).
 * Real EventSource clients subscribe anonymously, with a token allowing some
 * topics, and with one allowing every topic; each must receive exactly what
 * the protocol says, under the ids Symfony got back.
 */
const SCRIPT = fileURLToPath(new URL("./fixtures/mercure-publish.php", import.meta.url));
const PACKAGES = "apt-get install php-cli php-symfony-mercure php-curl (.ci/run installs them when missing)";
const SECRET = "the-symfony-app-mercure-secret-of-32-bytes";
const BOOKS = "https://example.com/books/{id}";
/** Settings reach a cluster's nodes a moment after the CLI writes them; a loaded machine may take a while. */
const WAIT = { timeout: 30_000, interval: 100 };

interface SymfonyUpdate {
  topics: string[];
  data?: string;
  private?: boolean;
  id?: string;
  type?: string;
  retry?: number;
}

interface Published {
  exitCode: number;
  /** The HttpClient class Symfony's Hub sent with. */
  client: string;
  /** What Hub::publish returned, one per update published before any exception. */
  ids: string[];
  /** The exception Hub::publish threw, then its previous ones. */
  error?: { class: string; message: string }[];
}

/** Runs the PHP publisher (test/fixtures/mercure-publish.php) to its exit. */
function publishWithSymfony(hubUrl: string, jwt: string, transport: "curl" | "native", updates: SymfonyUpdate[]): Promise<Published> {
  const env = { ...process.env, MERCURE_URL: hubUrl, MERCURE_JWT_TOKEN: jwt, MERCURE_HTTP_CLIENT: transport };
  return new Promise((resolve, reject) => {
    execFile("php", [SCRIPT, JSON.stringify(updates)], { env }, (err, stdout, stderr) => {
      if (err?.code === "ENOENT") return reject(new Error(`php is not installed: ${PACKAGES}`));
      const exitCode = err ? Number(err.code) : 0;
      if (exitCode !== 0 && exitCode !== 1) return reject(new Error(`the PHP publisher failed (exit ${exitCode}): ${stderr.trim()} — ${PACKAGES}`));
      resolve({ exitCode, ...JSON.parse(stdout) });
    });
  });
}

/** What one EventSource dispatched: the update's id, its event type ("message" when it had none) and its data. */
interface Received {
  id: string;
  type: string;
  data: string;
}

/** A data field Symfony urlencodes and the hub must frame line by line: empty lines, leading spaces, field look-alikes, a final line break. */
const MULTILINE = ["first line", "", "  indented, after an empty line", ": not a comment", "data: not a field", "ünïcödé & = + % # ?", ""].join("\n");

/** Published with a token allowing every topic, in this order. */
const UPDATES = {
  publicBook: { topics: ["https://example.com/books/1"], data: MULTILINE, id: "book-1-v1", type: "book.updated", retry: 4000 },
  privateExact: { topics: ["https://example.com/books/2"], data: "for readers of book 2\nonly", private: true, id: "book-2-private", type: "book.private" },
  // Private, canonical topic a book, alternate topic the one user 7's token allows.
  privateAlternate: { topics: ["https://example.com/books/3", "https://example.com/users/7/books/3"], data: '{"for":"user 7"}', private: true, id: "book-3-user-7", type: "book.private" },
  // Public, found by the books selector through its alternate topic only; no id: the hub makes one.
  publicAlternate: { topics: ["https://example.com/authors/9", "https://example.com/books/4"], data: "author 9 wrote book 4" },
  privateOther: { topics: ["https://example.com/books/5"], data: "for whoever may read every topic", private: true, id: "book-5-private" },
  publicAuthor: { topics: ["https://example.com/authors/10"], data: "", id: "author-10" },
} satisfies Record<string, SymfonyUpdate>;
type Name = keyof typeof UPDATES | "withinGrant" | "end";

/** Published with a token allowing the books template only: the first is within it, the second has an alternate outside it. */
const WITHIN_GRANT: SymfonyUpdate = { topics: ["https://example.com/books/7"], data: "within the grant", id: "book-7", type: "book.updated" };
const OUTSIDE_GRANT: SymfonyUpdate = { topics: ["https://example.com/books/8", "https://example.com/authors/8"], data: "outside the grant", id: "book-8-refused" };
/** Published last, public and matching every subscriber: once it arrives, everything before it has. */
const END: SymfonyUpdate = { topics: ["https://example.com/books/end"], data: "end", id: "the-end" };

/** Every type an update here carries: an EventSource dispatches each under its type, and each is listened to. */
const EVENT_TYPES = ["message", ...new Set([...Object.values(UPDATES), WITHIN_GRANT, END].flatMap((u: SymfonyUpdate) => (u.type ? [u.type] : [])))];

const setups = [
  { name: "/.well-known/mercure configured by environment, Symfony's curl transport", transport: "curl", tenant: "demo", path: "/.well-known/mercure" },
  { name: "a tenant's hub keyed by `mercure set-key`, Symfony's native PHP transport", transport: "native", tenant: "acme", path: "/api/v1/tenants/acme/mercure" },
] as const;

describe.each(setups)("Symfony's Mercure component publishing to $name", ({ transport, tenant, path }) => {
  let server: TestServer;
  let hubUrl: string;
  const sources: EventSource[] = [];
  const ids = {} as Record<Name, string>;
  /**
   * A token as MercureBundle's LcobucciFactory mints it (lcobucci/jwt is not in Debian, so jose signs it here, handed
   * to the component's StaticTokenProvider): typ JWT, both lists present, an `exp` with microseconds (a JSON float).
   */
  const sign = (mercure: { publish?: string[]; subscribe?: string[] }) =>
    new SignJWT({ exp: Math.floor(Date.now() / 1000) + 3600.25, mercure: { publish: [], subscribe: [], ...mercure } })
      .setProtectedHeader({ typ: "JWT", alg: "HS256" })
      .sign(new TextEncoder().encode(SECRET));

  /** A real EventSource on the hub with `query`'s selectors, recording what it dispatches and the raw bytes it read. */
  async function subscribe(query: string, headers: Record<string, string> = {}) {
    const received: Received[] = [];
    const wire = { text: "" };
    const es = new EventSource(`${hubUrl}?${query}`, {
      fetch: async (input, init): Promise<FetchLikeResponse> => {
        const res = await fetch(input, { ...init, headers: { ...init.headers, ...headers } });
        const [mine, theirs] = res.body!.tee();
        void mine.pipeThrough(new TextDecoderStream()).pipeTo(new WritableStream({ write: (chunk) => void (wire.text += chunk) })).catch(() => {});
        return { body: theirs, url: res.url, status: res.status, redirected: res.redirected, headers: res.headers };
      },
    });
    sources.push(es);
    for (const type of EVENT_TYPES) es.addEventListener(type, (ev) => received.push({ id: ev.lastEventId, type: ev.type, data: ev.data }));
    await expect.poll(() => es.readyState, { timeout: 30_000 }).toBe(EventSource.OPEN);
    return { received, wire, es };
  }
  type Subscriber = Awaited<ReturnType<typeof subscribe>>;

  const expected = (...names: Name[]): Received[] =>
    names.map((name) => {
      const u: SymfonyUpdate = name === "withinGrant" ? WITHIN_GRANT : name === "end" ? END : UPDATES[name];
      return { id: ids[name], type: u.type ?? "message", data: u.data ?? "" };
    });
  /** Until the last update arrived; then every frame on the wire was one the EventSource dispatched and recorded. */
  const untilEnd = async (s: Subscriber) => {
    await expect.poll(() => s.received.map((r) => r.id), { timeout: 30_000 }).toContain("the-end");
    expect(s.wire.text.match(/^id: /gm)).toHaveLength(s.received.length);
  };

  beforeAll(async () => {
    // PHP, the component and the transport are there (or the file fails here, saying what to install).
    expect(await publishWithSymfony("http://127.0.0.1:9/unused", "a.b.c", transport, [])).toMatchObject({ exitCode: 0, ids: [] });
    if (tenant === "demo") {
      server = await startTestServer({ SWITCHBOARD_MERCURE_TENANT: "demo", SWITCHBOARD_MERCURE_JWT_KEY: SECRET, SWITCHBOARD_MERCURE_ANONYMOUS: "true" });
    } else {
      server = await startTestServer();
      await createTenant(server, tenant);
      await cli(server, "mercure", "set-key", tenant, "--role", "both", "--hmac", SECRET);
      await cli(server, "mercure", "anonymous", tenant, "on");
    }
    hubUrl = `${server.url}${path}`;
    // On a cluster the nodes learn of settings a moment later: until the key and anonymous subscribers are known.
    const token = await sign({ subscribe: ["*"] });
    await vi.waitFor(async () => {
      for (const headers of [{ authorization: `Bearer ${token}` }, {}] as Record<string, string>[]) {
        const res = await fetch(`${hubUrl}?topic=urn:warm-up`, { headers });
        await res.body?.cancel();
        expect(res.status).toBe(200);
      }
    }, WAIT);
  });
  afterAll(async () => {
    for (const es of sources) es.close();
    await server?.dispose();
  });

  it("delivers what Symfony publishes under the ids Hub::publish returned: public updates to every matching subscriber, private ones only where a token allows one of their topics", async () => {
    const anonymous = await subscribe(`topic=${encodeURIComponent(BOOKS)}`);
    // An exact topic and a URI template: book 2, and any of user 7's books (the alternate topic of book 3).
    const limitedToken = await sign({ subscribe: ["https://example.com/books/2", "https://example.com/users/7/books/{id}"] });
    const limited = await subscribe(`topic=${encodeURIComponent(BOOKS)}`, { authorization: `Bearer ${limitedToken}` });
    // The cookie a Symfony app sets for its pages (Authorization::setCookie), here with a token allowing every topic.
    const everything = await subscribe("topic=*", { cookie: `mercureAuthorization=${await sign({ subscribe: ["*"] })}` });

    const all = await publishWithSymfony(hubUrl, await sign({ publish: ["*"] }), transport, Object.values(UPDATES));
    expect(all, JSON.stringify(all)).toMatchObject({ exitCode: 0, client: `Symfony\\Component\\HttpClient\\${transport === "curl" ? "Curl" : "Native"}HttpClient` });
    const names = Object.keys(UPDATES) as (keyof typeof UPDATES)[];
    names.forEach((name, i) => (ids[name] = all.ids[i]));
    // The hub answers with the publisher's id verbatim, or one it made.
    expect(all.ids).toEqual(names.map((name) => ("id" in UPDATES[name] ? UPDATES[name].id : expect.stringMatching(/^urn:uuid:[0-9a-f-]{36}$/))));

    // A token allowing the books template publishes book 7, and Hub::publish throws for an update whose alternate topic it does not allow.
    const partial = await publishWithSymfony(hubUrl, await sign({ publish: [BOOKS] }), transport, [WITHIN_GRANT, OUTSIDE_GRANT]);
    expect(partial.exitCode).toBe(1);
    expect(partial.ids).toEqual(["book-7"]);
    ids.withinGrant = "book-7";
    expect(partial.error).toEqual([
      { class: "Symfony\\Component\\Mercure\\Exception\\RuntimeException", message: "Failed to send an update." },
      { class: "Symfony\\Component\\HttpClient\\Exception\\ClientException", message: expect.stringMatching(new RegExp(`^HTTP/1\\.1 403 Forbidden returned for "${hubUrl}"`)) },
    ]);

    const end = await publishWithSymfony(hubUrl, await sign({ publish: ["*"] }), transport, [END]);
    expect(end.ids).toEqual(["the-end"]);
    ids.end = "the-end";

    for (const s of [anonymous, limited, everything]) await untilEnd(s);
    expect(everything.received).toEqual(expected("publicBook", "privateExact", "privateAlternate", "publicAlternate", "privateOther", "publicAuthor", "withinGrant", "end"));
    expect(limited.received).toEqual(expected("publicBook", "privateExact", "privateAlternate", "publicAlternate", "withinGrant", "end"));
    expect(anonymous.received).toEqual(expected("publicBook", "publicAlternate", "withinGrant", "end"));
    // The update's retry reached the wire as the SSE field (EventSource keeps it to itself).
    expect(everything.wire.text).toContain(`id: book-1-v1\nevent: book.updated\nretry: 4000\n`);

    // The log holds exactly what Symfony was told was published: nothing of the refused update.
    const history = await api(server, `/api/v1/tenants/${tenant}/events?types=mercure.update`, { key: ADMIN_KEY });
    expect((await history.json()).events.map((e: { subject: string }) => e.subject)).toEqual([...all.ids, "book-7", "the-end"]);
  });

  it("resumes after an id Symfony got back, and replays the same private rule to a later subscriber", async () => {
    const limitedToken = await sign({ subscribe: ["https://example.com/books/2", "https://example.com/users/7/books/{id}"] });
    const resumed = await subscribe(`topic=${encodeURIComponent(BOOKS)}&lastEventID=${encodeURIComponent(ids.privateExact)}`, { authorization: `Bearer ${limitedToken}` });
    const fromGenerated = await subscribe(`topic=*&lastEventID=${encodeURIComponent(ids.publicAlternate)}`, { authorization: `Bearer ${limitedToken}` });
    const anonymous = await subscribe(`topic=${encodeURIComponent(BOOKS)}&lastEventID=earliest`);
    for (const s of [resumed, fromGenerated, anonymous]) await untilEnd(s);
    expect(resumed.received).toEqual(expected("privateAlternate", "publicAlternate", "withinGrant", "end"));
    expect(fromGenerated.received).toEqual(expected("publicAuthor", "withinGrant", "end"));
    expect(anonymous.received).toEqual(expected("publicBook", "publicAlternate", "withinGrant", "end"));
  });
});
