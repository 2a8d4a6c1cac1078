import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { withEnvironment } from "../src/mercure/environment.js";
import { verifyToken } from "../src/mercure/tokens.js";
import { mercureKeys, MercureSettingsError, MercureSettingsStore, type MercureSettings } from "../src/store/mercure-settings.js";
import { PostgresEventLog } from "../src/store/postgres-event-log.js";
import { TurnBudget } from "../src/turn-budget.js";
import { cli, databaseOf, query } from "./support/database.js";
import { testBackend } from "./support/postgres-backend.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { onAccess } from "./support/tenants.js";

/**
 * A tenant's Mercure settings as an operator sets them: the `mercure` CLI on
 * the server's database while it runs (SQLite, or PostgreSQL and every
 * node's copy), checked for bad input, never printing a secret, and read back
 * as the keys tokens are verified with.
 */
describe("mercure: the CLI of a tenant's hub settings", () => {
  let dir: string;
  let server: TestServer;
  const HUB = new URL("https://hub.example.com/.well-known/mercure");
  const SECRET = "the-publisher-secret-of-acme-is-32+bytes";
  const pair = (type: "ec" | "rsa" | "ed25519", options: object = {}) => generateKeyPairSync(type as "ec", options as { namedCurve: string });
  let ec: { publicKey: KeyObject; privateKey: KeyObject };
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const pem = (key: KeyObject) => key.export({ type: key.type === "public" ? "spki" : "pkcs8", format: "pem" }).toString();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "switchboard-mercure-"));
    server = await startTestServer({}, dir);
    ec = pair("ec", { namedCurve: "P-256" });
    await cli(server, "tenants", "create", "acme");
  });
  afterAll(async () => {
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The tenant's settings as the server reads them from its database. */
  const settings = (tenant = "acme"): Promise<MercureSettings> => onAccess(server, (db) => new MercureSettingsStore(db).get(tenant));
  const token = (alg: string, key: KeyObject | Uint8Array, claims: object = { mercure: { publish: ["*"], subscribe: ["*"] } }) =>
    new SignJWT({ ...claims }).setProtectedHeader({ alg }).sign(key);
  const grantOf = async (jwt: string, role: "publish" | "subscribe", tenant = "acme") => verifyToken(jwt, mercureKeys(await settings(tenant)), role, HUB);

  it("starts with the defaults: no keys, no anonymous subscribers, no subscriptions API, no CORS origins", async () => {
    await cli(server, "tenants", "create", "fresh");
    expect(await settings("fresh")).toEqual({
      tenant: "fresh",
      publisherKey: null,
      subscriberKey: null,
      anonymous: false,
      subscriptions: false,
      corsOrigins: [],
      issuer: null,
      audience: null,
    });
    const shown = await cli(server, "mercure", "show", "fresh");
    expect(shown).toMatch(/publisher key\s+\(none\)/);
    expect(shown).toMatch(/anonymous\s+off/);
    expect(shown).toMatch(/subscriptions\s+off/);
    expect(shown).toMatch(/cors origins\s+\(none\)/);
    expect(shown).toMatch(/audience \(1.0\)\s+\(the hub's URL\)/);
  });

  it("sets one HMAC secret for both roles, never prints it, and tokens signed with it verify", async () => {
    const out = await cli(server, "mercure", "set-key", "acme", "--role", "both", "--hmac", SECRET);
    expect(out).toMatch(/set the Mercure publisher and subscriber key of tenant acme/);
    expect(out).toMatch(/publisher key\s+HMAC secret/);
    expect(out).toMatch(/subscriber key\s+the publisher key/);
    expect(out).not.toContain(SECRET);
    expect(await cli(server, "mercure", "show", "acme")).not.toContain(SECRET);
    const jwt = await token("HS256", new TextEncoder().encode(SECRET));
    expect((await grantOf(jwt, "publish")).canPublish("https://example.com/a")).toBe(true);
    expect((await grantOf(jwt, "subscribe")).canSubscribe("https://example.com/a")).toBe(true);
  });

  it("sets a public key for one role from a PEM file: the other role keeps its key", async () => {
    const out = await cli(server, "mercure", "set-key", "acme", "--role", "subscriber", "--public-key", file("sub.pem", pem(ec.publicKey)), "--alg", "ES256");
    expect(out).toMatch(/subscriber key\s+ES256 public key, SHA-256 [0-9a-f]{16}/);
    expect(out).toMatch(/publisher key\s+HMAC secret/);
    expect((await grantOf(await token("ES256", ec.privateKey), "subscribe")).canSubscribe("x")).toBe(true);
    // The HMAC secret no longer signs subscribers' tokens, and still signs publishers'.
    const hmacToken = await token("HS256", new TextEncoder().encode(SECRET));
    await expect(grantOf(hmacToken, "subscribe")).rejects.toMatchObject({ status: 401, error: "invalid_token" });
    expect((await grantOf(hmacToken, "publish")).canPublish("x")).toBe(true);
  });

  it("reads an HMAC secret from a file, without its last line break", async () => {
    await cli(server, "tenants", "create", "filed");
    await cli(server, "mercure", "set-key", "filed", "--role", "both", "--hmac-file", file("secret.txt", `${SECRET}-filed\n`));
    const jwt = await token("HS512", new TextEncoder().encode(`${SECRET}-filed`));
    expect((await grantOf(jwt, "publish", "filed")).canPublish("x")).toBe(true);
  });

  it("clears a role's key", async () => {
    await cli(server, "tenants", "create", "cleared");
    await cli(server, "mercure", "set-key", "cleared", "--role", "both", "--hmac", SECRET);
    const out = await cli(server, "mercure", "clear-key", "cleared", "--role", "publisher");
    expect(out).toMatch(/cleared the Mercure publisher key of tenant cleared/);
    expect(out).toMatch(/publisher key\s+\(none\)/);
    expect(out).toMatch(/subscriber key\s+HMAC secret/);
    expect((await settings("cleared")).publisherKey).toBeNull();
    await expect(grantOf(await token("HS256", new TextEncoder().encode(SECRET)), "publish", "cleared")).rejects.toThrow(/no publisher key/);
  });

  it("refuses bad keys with the reason, and changes nothing", async () => {
    const before = await settings();
    const refused: [string[], RegExp][] = [
      [["--role", "both", "--hmac", "too-short-a-secret"], /HMAC secret must be at least 32 bytes.*this one has 18/],
      [["--role", "both", "--public-key", file("garbage.pem", "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n"), "--alg", "RS256"], /not a PEM public key/],
      [["--role", "both", "--public-key", file("private.pem", pem(ec.privateKey)), "--alg", "ES256"], /that is a private key: give the hub the public key only/],
      [["--role", "both", "--public-key", file("ec.pem", pem(ec.publicKey)), "--alg", "RS256"], /RS256 needs an RSA public key; this PEM holds an EC key on prime256v1/],
      [["--role", "both", "--public-key", file("p384.pem", pem(pair("ec", { namedCurve: "P-384" }).publicKey)), "--alg", "ES256"], /ES256 needs an EC public key on P-256; this PEM holds an EC key on secp384r1/],
      [["--role", "both", "--public-key", file("ed.pem", pem(pair("ed25519").publicKey)), "--alg", "ES256"], /this PEM holds a key of type ed25519/],
      [["--role", "both", "--public-key", file("rsa1024.pem", pem(pair("rsa", { modulusLength: 1024 }).publicKey)), "--alg", "RS256"], /at least 2048 bits; this one has 1024/],
      [["--role", "both", "--public-key", file("ec2.pem", pem(ec.publicKey)), "--alg", "HS256"], /--alg must be one of RS256, ES256, EdDSA/],
      [["--role", "both", "--public-key", file("ec3.pem", pem(ec.publicKey))], /--public-key needs --alg RS256\|ES256\|EdDSA/],
      [["--role", "both", "--public-key", join(dir, "missing.pem"), "--alg", "ES256"], /cannot read the --public-key file .*missing.pem": ENOENT/],
      [["--role", "both", "--hmac", SECRET, "--alg", "HS256"], /--alg goes with --public-key/],
      [["--role", "both", "--hmac", SECRET, "--public-key", file("ec4.pem", pem(ec.publicKey))], /exactly one of --hmac <secret>, --hmac-file <file> or --public-key/],
      [["--role", "both"], /exactly one of --hmac/],
      [["--hmac", SECRET], /needs --role publisher, subscriber or both/],
      [["--role", "reader", "--hmac", SECRET], /needs --role publisher, subscriber or both, not "reader"/],
    ];
    for (const [args, message] of refused) await expect(cli(server, "mercure", "set-key", "acme", ...args), args.join(" ")).rejects.toThrow(message);
    await expect(cli(server, "mercure", "set-key", "nobody", "--role", "both", "--hmac", SECRET)).rejects.toThrow(/no tenant "nobody"; create it with: tenants create nobody/);
    expect(await settings()).toEqual(before);
  });

  it("turns anonymous subscribers and the subscriptions API on and off", async () => {
    expect(await cli(server, "mercure", "anonymous", "acme", "on")).toMatch(/anonymous subscribers are now allowed \(they receive public updates only\)/);
    expect(await cli(server, "mercure", "subscriptions", "acme", "on")).toMatch(/subscriptions API are now on/);
    expect(await settings()).toMatchObject({ anonymous: true, subscriptions: true });
    expect(await cli(server, "mercure", "show", "acme")).toMatch(/anonymous\s+on \(public updates only\)\nsubscriptions\s+on/);
    await cli(server, "mercure", "anonymous", "acme", "off");
    expect(await settings()).toMatchObject({ anonymous: false, subscriptions: true });
    await expect(cli(server, "mercure", "anonymous", "acme", "yes")).rejects.toThrow(/mercure anonymous needs on or off/);
    await expect(cli(server, "mercure", "subscriptions", "acme")).rejects.toThrow(/mercure subscriptions needs on or off/);
  });

  it("sets the CORS origins as browsers send them, refuses * and what is not an origin, and clears them", async () => {
    const out = await cli(server, "mercure", "cors", "acme", "https://App.Example.com, http://localhost:8080,https://app.example.com:443");
    expect(out).toMatch(/answers browsers from https:\/\/app.example.com, http:\/\/localhost:8080$/);
    expect((await settings()).corsOrigins).toEqual(["https://app.example.com", "http://localhost:8080"]);
    for (const [origin, message] of [
      ["*", /\* is not allowed as a CORS origin/],
      ["https://app.example.com,*", /\* is not allowed as a CORS origin/],
      ["https://app.example.com/", /"https:\/\/app.example.com\/" is not an origin.*did you mean https:\/\/app.example.com\?/],
      ["https://app.example.com/console", /is not an origin/],
      ["app.example.com", /is not an origin: scheme:\/\/host\[:port\] with http or https/],
      ["ftp://files.example.com", /is not an origin/],
      ["null", /is not an origin/],
      ["https://user@app.example.com", /is not an origin/],
      ["https://app.example.com?x=1", /is not an origin/],
    ] as const) {
      await expect(cli(server, "mercure", "cors", "acme", origin), origin).rejects.toThrow(message);
    }
    const many = Array.from({ length: 101 }, (_, i) => `https://o${i}.example.com`).join(",");
    await expect(cli(server, "mercure", "cors", "acme", many)).rejects.toThrow(/at most 100 CORS origins/);
    expect((await settings()).corsOrigins).toEqual(["https://app.example.com", "http://localhost:8080"]);
    await expect(cli(server, "mercure", "cors", "acme")).rejects.toThrow(/exactly one of a value or --clear/);
    await expect(cli(server, "mercure", "cors", "acme", " ")).rejects.toThrow(/exactly one of a value or --clear/);
    expect(await cli(server, "mercure", "cors", "acme", "--clear")).toMatch(/now answers no browser origin/);
    expect((await settings()).corsOrigins).toEqual([]);
  });

  it("sets and clears the 1.0 issuer and audience, which 1.0 tokens are then held to", async () => {
    await cli(server, "tenants", "create", "issued");
    await cli(server, "mercure", "set-key", "issued", "--role", "both", "--hmac", SECRET);
    expect(await cli(server, "mercure", "issuer", "issued", "https://example.com")).toMatch(/must now have iss "https:\/\/example.com"/);
    expect(await cli(server, "mercure", "audience", "issued", "urn:switchboard:issued")).toMatch(/must now have "urn:switchboard:issued" in aud/);
    expect(await settings("issued")).toMatchObject({ issuer: "https://example.com", audience: "urn:switchboard:issued" });
    const shown = await cli(server, "mercure", "show", "issued");
    expect(shown).toMatch(/issuer \(1.0\)\s+https:\/\/example.com/);
    expect(shown).toMatch(/audience \(1.0\)\s+urn:switchboard:issued/);

    const detail = { type: "https://mercure.rocks/authorization-detail", actions: ["publish"], topics: [{ match: "*" }] };
    const access = (claims: object) =>
      new SignJWT({ exp: Math.floor(Date.now() / 1000) + 300, authorization_details: [detail], ...claims })
        .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
        .sign(new TextEncoder().encode(SECRET));
    expect((await grantOf(await access({ iss: "https://example.com", aud: "urn:switchboard:issued" }), "publish", "issued")).canPublish("x")).toBe(true);
    await expect(grantOf(await access({ iss: "https://other.example", aud: "urn:switchboard:issued" }), "publish", "issued")).rejects.toThrow(/iss/);
    await expect(grantOf(await access({ iss: "https://example.com", aud: HUB.href }), "publish", "issued")).rejects.toThrow(/aud/);

    expect(await cli(server, "mercure", "issuer", "issued", "--clear")).toMatch(/may now have any issuer/);
    expect(await cli(server, "mercure", "audience", "issued", "--clear")).toMatch(/must now be meant for the hub's URL/);
    expect((await grantOf(await access({ iss: "https://other.example", aud: HUB.href }), "publish", "issued")).canPublish("x")).toBe(true);

    await expect(cli(server, "mercure", "issuer", "issued", "https://example.com", "--clear")).rejects.toThrow(/exactly one of a value or --clear/);
    await expect(cli(server, "mercure", "audience", "issued", " padded ")).rejects.toThrow(/audience must be 1 to 2048 characters, without control characters or surrounding spaces/);
    await expect(cli(server, "mercure", "issuer", "issued", "line\nbreak")).rejects.toThrow(/issuer must be/);
  });

  it("explains unknown commands and missing arguments, and lists the commands in its usage", async () => {
    await expect(cli(server, "mercure", "rotate", "acme")).rejects.toThrow(/unknown command "mercure rotate"/);
    await expect(cli(server, "mercure")).rejects.toThrow(/mercure needs a command: set-key, clear-key, anonymous, subscriptions, cors, issuer, audience or show/);
    await expect(cli(server, "mercure", "show")).rejects.toThrow(/mercure show needs a tenant's slug/);
    await expect(cli(server, "mercure", "show", "nobody")).rejects.toThrow(/no tenant "nobody"/);
    const usage = await cli(server, "--help");
    for (const command of ["mercure set-key", "mercure clear-key", "mercure anonymous", "mercure subscriptions", "mercure cors", "mercure issuer", "mercure audience", "mercure show"]) {
      expect(usage).toContain(command);
    }
  });

  it("keeps the settings in their table, refused for a tenant that does not exist", async () => {
    const rows = await query<{ tenant: string; publisher_alg: string; subscriber_alg: string }>(server, "SELECT tenant, publisher_alg, subscriber_alg FROM mercure_settings WHERE tenant = ?", ["acme"]);
    expect(rows).toEqual([{ tenant: "acme", publisher_alg: "hmac", subscriber_alg: "ES256" }]);
    await expect(onAccess(server, (db) => new MercureSettingsStore(db).set("ghost", { anonymous: true }))).rejects.toThrow(MercureSettingsError);
    // A change names only what it changes: undefined keeps a setting, null clears it.
    await cli(server, "mercure", "set-key", "fresh", "--role", "both", "--hmac", SECRET);
    await cli(server, "mercure", "issuer", "fresh", "https://example.com");
    const before = await settings("fresh");
    const after = await onAccess(server, (db) => new MercureSettingsStore(db).set("fresh", { publisherKey: undefined, issuer: undefined, subscriptions: true }));
    expect(after).toEqual({ ...before, subscriptions: true });
    expect(await onAccess(server, (db) => new MercureSettingsStore(db).set("fresh", { subscriberKey: null, issuer: null }))).toEqual({ ...after, subscriberKey: null, issuer: null });
  });

  it("lets SWITCHBOARD_MERCURE_JWT_KEY and SWITCHBOARD_MERCURE_ANONYMOUS override the stored settings of the well-known hub's tenant only", async () => {
    const envKey = "the-environment-key-of-the-well-known-hub";
    const env = loadConfig({ SWITCHBOARD_MERCURE_TENANT: "acme", SWITCHBOARD_MERCURE_JWT_KEY: envKey, SWITCHBOARD_MERCURE_ANONYMOUS: "true" });
    const acme = withEnvironment(await settings("acme"), env);
    expect(acme).toMatchObject({ publisherKey: { kind: "hmac", secret: envKey }, subscriberKey: { kind: "hmac", secret: envKey }, anonymous: true });
    const envToken = await token("HS256", new TextEncoder().encode(envKey));
    expect((await verifyToken(envToken, mercureKeys(acme), "subscribe", HUB)).canSubscribe("x")).toBe(true);
    // The stored ES256 key no longer verifies there: the environment's key replaces both.
    await expect(verifyToken(await token("ES256", ec.privateKey), mercureKeys(acme), "subscribe", HUB)).rejects.toMatchObject({ error: "invalid_token" });
    // Another tenant keeps its own.
    expect(withEnvironment(await settings("issued"), env)).toEqual(await settings("issued"));
    // Unset, the switch leaves the stored one; false turns it off.
    await cli(server, "mercure", "anonymous", "acme", "on");
    expect(withEnvironment(await settings("acme"), loadConfig({ SWITCHBOARD_MERCURE_TENANT: "acme" })).anonymous).toBe(true);
    expect(withEnvironment(await settings("acme"), loadConfig({ SWITCHBOARD_MERCURE_TENANT: "acme", SWITCHBOARD_MERCURE_ANONYMOUS: "false" })).anonymous).toBe(false);
  });

  // On a cluster every node reads a tenant's settings from its own replica: made at its start, and reloaded when the CLI changes them.
  it.skipIf(testBackend() !== "postgres")("reaches every node of a cluster: at its start and when changed while it runs", async () => {
    const node = await PostgresEventLog.open({ url: databaseOf(server), logger: createLogger("error"), turn: new TurnBudget() });
    try {
      const onNode = () => new MercureSettingsStore(node.replica.db).get("acme");
      expect(onNode()).toEqual(await settings("acme"));
      expect(onNode().subscriberKey).toMatchObject({ kind: "public", alg: "ES256" });
      await cli(server, "mercure", "cors", "acme", "https://late.example.com");
      await cli(server, "mercure", "set-key", "acme", "--role", "publisher", "--public-key", file("late.pem", pem(ec.publicKey)), "--alg", "ES256");
      await vi.waitFor(
        () => {
          expect(onNode().corsOrigins).toEqual(["https://late.example.com"]);
          expect(onNode().publisherKey).toMatchObject({ kind: "public", alg: "ES256" });
        },
        { timeout: 30_000, interval: 50 },
      );
    } finally {
      await node.stop();
    }
  });
});
