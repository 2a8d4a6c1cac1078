import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { EventSource, type FetchLikeResponse } from "eventsource";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { cli } from "./support/database.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "./support/server.js";
import { createTenant } from "./support/tenants.js";
import { selfSignedCertificate, type TestCertificate } from "./support/tls.js";

/**
 * Interoperability with a real Mercure publisher: Symfony's Mercure
 * component (Debian's php-symfony-mercure, run by PHP in a child process)
 * publishes public and private updates, with alternate topics, through
 * both of Symfony's HTTP transports (curl over HTTP/1.1, and over HTTP/2
 * as it speaks to an https hub; PHP's own streams), to the well-known hub
 * (configured by environment) and to a tenant's hub (its key set by
 * `mercure set-key`). Real EventSource clients subscribe anonymously, with a token allowing some
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
  /** The status line of each answer the hub gave, e.g. "HTTP/2 200". */
  responses: string[];
}

/** Runs the PHP publisher (test/fixtures/mercure-publish.php) to its exit. */
function publishWithSymfony(hubUrl: string, jwt: string, transport: "curl" | "native", updates: SymfonyUpdate[], caFile = ""): Promise<Published> {
  const env = { ...process.env, MERCURE_URL: hubUrl, MERCURE_JWT_TOKEN: jwt, MERCURE_HTTP_CLIENT: transport, MERCURE_CA_FILE: caFile };
  return new Promise((resolve, reject) => {
    execFile("php", [SCRIPT, JSON.stringify(updates)], { env }, (err, stdout, stderr) => {
      if (err?.code === "ENOENT") return reject(new Error(`php is not installed: ${PACKAGES}`));
      const exitCode = err ? Number(err.code) : 0;
      if (exitCode !== 0 && exitCode !== 1) return reject(new Error(`the PHP publisher failed (exit ${exitCode}): ${stderr.trim()} — ${PACKAGES}`));
      resolve({ exitCode, ...JSON.parse(stdout) });
    });
  });
}

/**
 * A GET over node:http, or node:https trusting the test's certificate (fetch
 * trusts only the system's authorities), as a fetch-like answer: what an
 * EventSource reads its stream from.
 */
function get(url: string, headers: Record<string, string>, cert?: TestCertificate, signal?: AbortSignal | null): Promise<FetchLikeResponse & { body: ReadableStream<Uint8Array> }> {
  return new Promise((resolve, reject) => {
    const answer = (res: IncomingMessage) =>
      resolve({
        body: Readable.toWeb(res) as ReadableStream<Uint8Array>,
        url,
        status: res.statusCode ?? 0,
        redirected: false,
        headers: { get: (name: string) => [res.headers[name.toLowerCase()] ?? []].flat().join(", ") || null },
      });
    const options = { headers, signal: signal ?? undefined };
    const req = url.startsWith("https:") ? httpsRequest(url, { ...options, ca: cert?.cert }, answer) : httpRequest(url, options, answer);
    req.once("error", reject);
    req.end();
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
  { name: "/.well-known/mercure configured by environment, with Symfony's curl transport", transport: "curl", tenant: "demo", path: "/.well-known/mercure", tls: false, version: "HTTP/1.1" },
  { name: "a tenant's hub keyed by `mercure set-key`, with Symfony's native PHP transport", transport: "native", tenant: "acme", path: "/api/v1/tenants/acme/mercure", tls: false, version: "HTTP/1.1" },
  { name: "an https hub, with Symfony's curl transport speaking HTTP/2", transport: "curl", tenant: "demo", path: "/.well-known/mercure", tls: true, version: "HTTP/2" },
] as const;

describe.each(setups)("Symfony's Mercure component publishing to $name", ({ transport, tenant, path, tls, version }) => {
  let server: TestServer;
  let hubUrl: string;
  let dir: string | undefined;
  let cert: TestCertificate | undefined;
  const publish = (jwt: string, updates: SymfonyUpdate[]) => publishWithSymfony(hubUrl, jwt, transport, updates, cert?.certPath);
  /** The status line Symfony's client records (HTTP/2 has no reason phrase). */
  const statusLine = (status: number, reason: string) => (version === "HTTP/2" ? `HTTP/2 ${status}` : `HTTP/1.1 ${status} ${reason}`);
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
        const res = await get(String(input), { ...init.headers, ...headers }, cert, init.signal);
        const [mine, theirs] = res.body.tee();
        const decoder = new TextDecoder();
        void mine.pipeTo(new WritableStream({ write: (chunk) => void (wire.text += decoder.decode(chunk, { stream: true })) })).catch(() => {});
        return { ...res, body: theirs };
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
    if (tls) {
      dir = mkdtempSync(join(tmpdir(), "switchboard-symfony-tls-"));
      cert = selfSignedCertificate(dir);
    }
    if (tenant === "demo") {
      server = await startTestServer({ SWITCHBOARD_MERCURE_TENANT: "demo", SWITCHBOARD_MERCURE_JWT_KEY: SECRET, SWITCHBOARD_MERCURE_ANONYMOUS: "true", ...cert?.env });
    } else {
      server = await startTestServer({ ...cert?.env });
      await createTenant(server, tenant);
      await cli(server, "mercure", "set-key", tenant, "--role", "both", "--hmac", SECRET);
      await cli(server, "mercure", "anonymous", tenant, "on");
    }
    hubUrl = `${server.url}${path}`;
    // On a cluster the nodes learn of settings a moment later: until the key and anonymous subscribers are known.
    const token = await sign({ subscribe: ["*"] });
    await vi.waitFor(async () => {
      for (const headers of [{ authorization: `Bearer ${token}` }, {}] as Record<string, string>[]) {
        const res = await get(`${hubUrl}?topic=urn:warm-up`, headers, cert);
        await res.body.cancel();
        expect(res.status).toBe(200);
      }
    }, WAIT);
  });
  afterAll(async () => {
    for (const es of sources) es.close();
    await server?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("delivers what Symfony publishes under the ids Hub::publish returned: public updates to every matching subscriber, private ones only where a token allows one of their topics", async () => {
    const anonymous = await subscribe(`topic=${encodeURIComponent(BOOKS)}`);
    // An exact topic and a URI template: book 2, and any of user 7's books (the alternate topic of book 3).
    const limitedToken = await sign({ subscribe: ["https://example.com/books/2", "https://example.com/users/7/books/{id}"] });
    const limited = await subscribe(`topic=${encodeURIComponent(BOOKS)}`, { authorization: `Bearer ${limitedToken}` });
    // The cookie a Symfony app sets for its pages (Authorization::setCookie), here with a token allowing every topic.
    const everything = await subscribe("topic=*", { cookie: `mercureAuthorization=${await sign({ subscribe: ["*"] })}` });

    const all = await publish(await sign({ publish: ["*"] }), Object.values(UPDATES));
    expect(all, JSON.stringify(all)).toMatchObject({ exitCode: 0, client: `Symfony\\Component\\HttpClient\\${transport === "curl" ? "Curl" : "Native"}HttpClient` });
    expect(all.responses).toEqual(Object.keys(UPDATES).map(() => statusLine(200, "OK")));
    const names = Object.keys(UPDATES) as (keyof typeof UPDATES)[];
    names.forEach((name, i) => (ids[name] = all.ids[i]));
    // The hub answers with the publisher's id verbatim, or one it made.
    expect(all.ids).toEqual(names.map((name) => ("id" in UPDATES[name] ? UPDATES[name].id : expect.stringMatching(/^urn:uuid:[0-9a-f-]{36}$/))));

    // A token allowing the books template publishes book 7, and Hub::publish throws for an update whose alternate topic it does not allow.
    const partial = await publish(await sign({ publish: [BOOKS] }), [WITHIN_GRANT, OUTSIDE_GRANT]);
    expect(partial.exitCode).toBe(1);
    expect(partial.ids).toEqual(["book-7"]);
    expect(partial.responses).toEqual([statusLine(200, "OK"), statusLine(403, "Forbidden")]);
    ids.withinGrant = "book-7";
    expect(partial.error).toEqual([
      { class: "Symfony\\Component\\Mercure\\Exception\\RuntimeException", message: "Failed to send an update." },
      { class: "Symfony\\Component\\HttpClient\\Exception\\ClientException", message: expect.stringMatching(new RegExp(`^${version} 403 .*returned for "${hubUrl.replace(/[.?]/g, "\\$&")}"\\.$`)) },
    ]);

    const end = await publish(await sign({ publish: ["*"] }), [END]);
    expect(end.ids).toEqual(["the-end"]);
    ids.end = "the-end";

    for (const s of [anonymous, limited, everything]) await untilEnd(s);
    expect(everything.received).toEqual(expected("publicBook", "privateExact", "privateAlternate", "publicAlternate", "privateOther", "publicAuthor", "withinGrant", "end"));
    expect(limited.received).toEqual(expected("publicBook", "privateExact", "privateAlternate", "publicAlternate", "withinGrant", "end"));
    expect(anonymous.received).toEqual(expected("publicBook", "publicAlternate", "withinGrant", "end"));
    // The update's retry reached the wire as the SSE field (EventSource keeps it to itself).
    expect(everything.wire.text).toContain(`id: book-1-v1\nevent: book.updated\nretry: 4000\n`);

    // The log holds exactly what Symfony was told was published: nothing of the refused update.
    const history = await get(`${server.url}/api/v1/tenants/${tenant}/events?types=mercure.update`, { authorization: `Bearer ${ADMIN_KEY}` }, cert);
    expect((await new Response(history.body).json()).events.map((e: { subject: string }) => e.subject)).toEqual([...all.ids, "book-7", "the-end"]);
  });

  it("resumes after an id Symfony got back, and replays the same private rule to a later subscriber", async () => {
    expect(ids.end, "the updates of the test above were published").toBe("the-end");
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
