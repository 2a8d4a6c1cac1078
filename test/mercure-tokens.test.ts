import { exportSPKI, generateKeyPair, SignJWT, type JWTPayload } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { hmacKey, publicKey, type MercureKey, type MercureKeys } from "../src/mercure/keys.js";
import { compileMatcher, type MatcherType } from "../src/mercure/selectors.js";
import {
  COOKIE_0X,
  COOKIE_1_0,
  GRANT_LIMITS,
  insufficientScope,
  MERCURE_DETAIL_TYPE,
  MercureAuthError,
  presentedToken,
  tokenRequired,
  verifyToken,
  type MercureGrant,
} from "../src/mercure/tokens.js";

/**
 * Mercure tokens as real publishers mint them (jose's SignJWT, HMAC and
 * generated RSA, EC and Ed25519 key pairs), verified against a tenant's
 * keys: the 0.x `mercure` claim and 1.0 access tokens, and every way a
 * token must be refused.
 */

const HUB = new URL("https://hub.example.com/.well-known/mercure");
const SECRET = "a-publisher-secret-of-at-least-32-bytes!";
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const at = (seconds: number) => Math.floor(NOW / 1000) + seconds;

const keysOf = (key: MercureKey, more: Partial<MercureKeys> = {}): MercureKeys => ({ publisher: key, subscriber: key, issuer: null, audience: null, ...more });
const hmac = keysOf(hmacKey(SECRET));
const bytes = (s: string) => new TextEncoder().encode(s);

function sign(claims: JWTPayload, header: Record<string, unknown> = { alg: "HS256" }, key: Parameters<SignJWT["sign"]>[0] = bytes(SECRET)): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key);
}

/** A 1.0 access token's claims, valid at NOW for HUB, with these details. */
const access = (details: unknown, more: JWTPayload = {}): JWTPayload => ({
  iss: "https://example.com",
  aud: HUB.href,
  sub: "urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6",
  client_id: "https://example.com",
  iat: at(-60),
  exp: at(300),
  jti: "urn:uuid:e70ff8d7-59d5-4a92-b0b7-505e8f6d09fa",
  authorization_details: details,
  ...more,
});
const AT_JWT = { alg: "HS256", typ: "at+jwt" };
const detail = (actions: unknown, topics: unknown, more: Record<string, unknown> = {}) => ({ type: MERCURE_DETAIL_TYPE, actions, topics, ...more });

/** The MercureAuthError verifyToken rejects with; fails the test when it resolves. */
async function refusal(token: Promise<string> | string, keys: MercureKeys = hmac, role: "publish" | "subscribe" = "publish"): Promise<MercureAuthError> {
  const err = await verifyToken(await token, keys, role, HUB, NOW).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MercureAuthError);
  return err as MercureAuthError;
}

async function invalid(token: Promise<string> | string, keys?: MercureKeys, reason?: RegExp): Promise<void> {
  const err = await refusal(token, keys);
  expect(err.status).toBe(401);
  expect(err.error).toBe("invalid_token");
  // The challenge never says why: that is for the log.
  expect(err.challenge).toBe('Bearer realm="mercure", error="invalid_token"');
  if (reason) expect(err.message).toMatch(reason);
}

const verify = async (token: Promise<string> | string, keys: MercureKeys = hmac, role: "publish" | "subscribe" = "publish"): Promise<MercureGrant> =>
  verifyToken(await token, keys, role, HUB, NOW);

describe("0.x tokens: the mercure claim", () => {
  it("grants the publish and subscribe selectors of the claim, with its payload, subject and expiry", async () => {
    const grant = await verify(sign({ sub: "alice", exp: at(60), mercure: { publish: ["https://example.com/books/1"], subscribe: ["*"], payload: { user: "alice" } } }));
    expect(grant.protocol).toBe("0.x");
    expect(grant.subject).toBe("alice");
    expect(grant.expiresAt).toBe(at(60) * 1000);
    expect(grant.canPublish("https://example.com/books/1")).toBe(true);
    expect(grant.canPublish("https://example.com/books/2")).toBe(false);
    expect(grant.canSubscribe("https://example.com/anything")).toBe(true);
    expect(grant.payloadFor("selector", "https://example.com/books/{id}")).toEqual({ user: "alice" });
  });

  it("needs no exp (0.x does not require one), and grants nothing without the claim", async () => {
    const grant = await verify(sign({ mercure: { subscribe: ["https://example.com/a"] } }), hmac, "subscribe");
    expect(grant.expiresAt).toBeNull();
    expect(grant.subject).toBeNull();
    expect(grant.canSubscribe("https://example.com/a")).toBe(true);
    expect(grant.canPublish("https://example.com/a")).toBe(false);

    const bare = await verify(sign({ sub: "someone" }));
    expect(bare.protocol).toBe("0.x");
    expect(bare.canPublish("*")).toBe(false);
    expect(bare.canSubscribe("https://example.com/a")).toBe(false);
    expect(bare.payloadFor("selector", "*")).toBeUndefined();
  });

  it("enforces exp and nbf when present", async () => {
    await invalid(sign({ exp: at(-1), mercure: { publish: ["*"] } }), hmac, /exp/);
    await invalid(sign({ nbf: at(60), mercure: { publish: ["*"] } }), hmac, /nbf/);
    // The same token is good before its exp (the clock is the caller's `now`).
    const token = await sign({ exp: at(10), mercure: { publish: ["*"] } });
    expect((await verifyToken(token, hmac, "publish", HUB, NOW)).canPublish("x")).toBe(true);
    await expect(verifyToken(token, hmac, "publish", HUB, NOW + 11_000)).rejects.toThrow(MercureAuthError);
  });

  it("refuses a mercure claim of the wrong shape rather than granting less", async () => {
    await invalid(sign({ mercure: "publish everything" }), hmac, /mercure claim must be an object/);
    await invalid(sign({ mercure: { publish: "*" } }), hmac, /mercure.publish must be an array/);
    await invalid(sign({ mercure: { subscribe: ["ok", 7] } }), hmac, /mercure.subscribe\[1\] must be a string/);
    await invalid(sign({ mercure: { publish: [""] } }), hmac, /is empty/);
    await invalid(sign({ mercure: { publish: ["x".repeat(GRANT_LIMITS.matcherLength + 1)] } }), hmac, /longer than/);
    await invalid(sign({ mercure: { publish: Array.from({ length: GRANT_LIMITS.matchers + 1 }, (_, i) => `t${i}`) } }), hmac, /more than 256/);
  });
});

describe("1.0 access tokens: authorization_details", () => {
  it("grants each action on its detail's topics, and reads sub and exp", async () => {
    const grant = await verify(
      sign(
        access([
          detail(["publish"], [{ match: "https://example.com/books/1" }]),
          detail(["subscribe", "publish"], [{ match: "https://example.com/users/42", match_type: "exact" }]),
        ]),
        AT_JWT,
      ),
    );
    expect(grant.protocol).toBe("1.0");
    expect(grant.subject).toBe("urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6");
    expect(grant.expiresAt).toBe(at(300) * 1000);
    expect(grant.canPublish("https://example.com/books/1")).toBe(true);
    expect(grant.canPublish("https://example.com/users/42")).toBe(true);
    expect(grant.canSubscribe("https://example.com/users/42")).toBe(true);
    expect(grant.canSubscribe("https://example.com/books/1")).toBe(false);
    expect(grant.canPublish("https://example.com/books/2")).toBe(false);
  });

  it("accepts typ application/at+jwt in any case, and an aud array holding the hub", async () => {
    const grant = await verify(sign(access([detail(["publish"], [{ match: "*" }])], { aud: ["https://other.example", HUB.href] }), { alg: "HS256", typ: "Application/AT+JWT" }));
    expect(grant.canPublish("anything")).toBe(true);
  });

  it("ignores unknown actions and details of other types, which grant nothing", async () => {
    const grant = await verify(
      sign(access([detail(["subscribe-later", "publish"], [{ match: "a" }]), { type: "https://example.com/other", whatever: [1] }, detail(["archive"], [{ match: "*" }])]), AT_JWT),
    );
    expect(grant.canPublish("a")).toBe(true);
    expect(grant.canPublish("b")).toBe(false);
    expect(grant.canSubscribe("a")).toBe(false);
    const none = await verify(sign(access([]), AT_JWT));
    expect(none.protocol).toBe("1.0");
    expect(none.canPublish("a")).toBe(false);
    // A typed token with no authorization_details at all is a 1.0 token that grants nothing, not a 0.x one.
    const untyped = await verify(sign({ ...access(undefined), mercure: { publish: ["*"] } }, AT_JWT));
    expect(untyped.protocol).toBe("1.0");
    expect(untyped.canPublish("a")).toBe(false);
  });

  it("gives the payload of the first subscribe detail matching the subscription's own matcher", async () => {
    const grant = await verify(
      sign(
        access([
          detail(["publish"], [{ match: "*" }], { payload: { never: "a publish detail's" } }),
          detail(["subscribe"], [{ match: "https://example.com/foo" }], { payload: { custom1: "foo" } }),
          detail(["subscribe"], [{ match: "https://example.com/bare" }]),
          detail(["subscribe"], [{ match: "*" }], { payload: { custom3: "default" } }),
        ]),
        AT_JWT,
      ),
      hmac,
      "subscribe",
    );
    expect(grant.payloadFor("exact", "https://example.com/foo")).toEqual({ custom1: "foo" });
    expect(grant.payloadFor("urlpattern", "https://example.com/other/:id")).toEqual({ custom3: "default" });
    // The first matching detail wins, even without a payload of its own.
    expect(grant.payloadFor("exact", "https://example.com/bare")).toBeUndefined();
  });

  it("requires typ at+jwt on a token that carries authorization_details", async () => {
    const claims = access([detail(["publish"], [{ match: "*" }])]);
    await invalid(sign(claims), hmac, /typ "at\+jwt"/);
    await invalid(sign(claims, { alg: "HS256", typ: "JWT" }), hmac, /typ "at\+jwt"/);
  });

  it("requires exp, honours nbf, and checks aud against the hub or the configured audience", async () => {
    const details = [detail(["publish"], [{ match: "*" }])];
    await invalid(sign({ ...access(details), exp: undefined }, AT_JWT), hmac, /exp/);
    await invalid(sign(access(details, { exp: at(-5) }), AT_JWT), hmac, /exp/);
    await invalid(sign(access(details, { nbf: at(30) }), AT_JWT), hmac, /nbf/);
    await invalid(sign(access(details, { aud: "https://hub.example.com/" }), AT_JWT), hmac, /aud/);
    await invalid(sign({ ...access(details), aud: undefined }, AT_JWT), hmac, /aud/);
    // A configured audience replaces the hub's URL.
    const configured = keysOf(hmacKey(SECRET), { audience: "urn:switchboard:acme" });
    await invalid(sign(access(details), AT_JWT), configured, /aud/);
    expect((await verify(sign(access(details, { aud: "urn:switchboard:acme" }), AT_JWT), configured)).canPublish("x")).toBe(true);
  });

  it("checks iss when an issuer is configured", async () => {
    const details = [detail(["publish"], [{ match: "*" }])];
    const keys = keysOf(hmacKey(SECRET), { issuer: "https://example.com" });
    expect((await verify(sign(access(details), AT_JWT), keys)).canPublish("x")).toBe(true);
    await invalid(sign(access(details, { iss: "https://evil.example" }), AT_JWT), keys, /iss/);
    await invalid(sign({ ...access(details), iss: undefined }, AT_JWT), keys, /iss/);
  });

  it("refuses the whole token for any malformed Mercure detail", async () => {
    const cases: [unknown, RegExp][] = [
      [{ not: "an array" }, /must be an array/],
      [["a string entry"], /must be an object with a string type/],
      [[{ actions: ["publish"], topics: [{ match: "*" }] }], /must be an object with a string type/],
      [[detail("publish", [{ match: "*" }])], /actions must be a non-empty array/],
      [[detail([], [{ match: "*" }])], /actions must be a non-empty array/],
      [[detail(["publish", 1], [{ match: "*" }])], /actions\[1\] must be a string/],
      [[detail(["publish"], [])], /topics must be a non-empty array/],
      [[detail(["publish"], { match: "*" })], /topics must be a non-empty array/],
      [[detail(["publish"], ["*"])], /topics\[0\] must be an object with a string match/],
      [[detail(["publish"], [{ match: 42 }])], /must be an object with a string match/],
      [[detail(["publish"], [{ match: "a", match_type: "selector" }])], /match_type must be exact or urlpattern/],
      [[detail(["publish"], [{ match: "a", match_type: "EXACT" }])], /match_type must be exact or urlpattern/],
      [[detail(["publish"], [{ match: "a", match_type: null }])], /match_type must be exact or urlpattern/],
      [[detail(["publish"], [{ match: "" }])], /is empty/],
      [[detail(["subscribe"], [{ match: "*" }], { payload: ["not", "an", "object"] })], /payload must be an object/],
      // The good detail before a bad one grants nothing either: no partial acceptance.
      [[detail(["publish"], [{ match: "*" }]), detail(["publish"], [{ match: "a", match_type: "regex" }])], /authorization_details\[1\]/],
    ];
    for (const [details, reason] of cases) await invalid(sign(access(details), AT_JWT), hmac, reason);
  });

  it("refuses tokens past the limits on details, topics and matcher length", async () => {
    const one = detail(["publish"], [{ match: "a" }]);
    await invalid(sign(access(Array.from({ length: GRANT_LIMITS.details + 1 }, () => one)), AT_JWT), hmac, /more than 16 authorization details/);
    const many = Array.from({ length: GRANT_LIMITS.topicsPerDetail + 1 }, (_, i) => ({ match: `t${i}` }));
    await invalid(sign(access([detail(["publish"], many)]), AT_JWT), hmac, /more than 64 matchers/);
    const full = Array.from({ length: GRANT_LIMITS.topicsPerDetail }, (_, i) => ({ match: `t${i}` }));
    await invalid(sign(access(Array.from({ length: 5 }, () => detail(["publish"], full))), AT_JWT), hmac, /more than 256 topic matchers/);
    await invalid(sign(access([detail(["publish"], [{ match: "x".repeat(GRANT_LIMITS.matcherLength + 1) }])]), AT_JWT), hmac, /longer than 2048/);
    // At the limits, the token is good.
    const limit = await verify(sign(access([detail(["publish"], [{ match: "x".repeat(GRANT_LIMITS.matcherLength) }]), ...Array.from({ length: 3 }, () => detail(["publish"], full))]), AT_JWT));
    expect(limit.canPublish("t63")).toBe(true);
  });
});

describe("grants are matched by the topic matchers (compileMatcher)", () => {
  // Whatever compileMatcher says a matcher matches, a grant holding it says too, for the matcher type the
  // claim names: 0.x selectors as "selector", 1.0 matchers as their match_type (exact by default).
  const cases: [MatcherType, string, string][] = [
    ["selector", "*", "https://example.com/anything"],
    ["selector", "https://example.com/books/1", "https://example.com/books/1"],
    ["selector", "https://example.com/books/1", "https://example.com/books/2"],
    ["selector", "https://example.com/books/{id}", "https://example.com/books/1"],
    ["selector", "https://example.com/books/{id}", "https://example.com/books/{id}"],
    ["exact", "*", "https://example.com/anything"],
    ["exact", "https://example.com/books/:id", "https://example.com/books/1"],
    ["urlpattern", "*", "https://example.com/anything"],
    ["urlpattern", "https://example.com/books/:id", "https://example.com/books/1"],
    ["urlpattern", "https://example.com/books/:id", "https://example.com/authors/1"],
    ["urlpattern", "/.well-known/mercure/subscriptions/:topic/:subscriber", "/.well-known/mercure/subscriptions/a/b"],
  ];

  it.each(cases)("%s %s against %s", async (type, source, topic) => {
    const expected = compileMatcher(type, source, HUB).matches(topic);
    const grant =
      type === "selector"
        ? await verify(sign({ mercure: { publish: [source], subscribe: [source] } }))
        : await verify(sign(access([detail(["publish", "subscribe"], [type === "exact" ? { match: source } : { match: source, match_type: type }])]), AT_JWT));
    expect(grant.canPublish(topic)).toBe(expected);
    expect(grant.canSubscribe(topic)).toBe(expected);
  });
});

describe("keys and algorithms", () => {
  let rsa: { token: (claims: JWTPayload, header?: Record<string, unknown>) => Promise<string>; keys: MercureKeys; pem: string };
  let ec: typeof rsa;
  let ed: typeof rsa;

  beforeAll(async () => {
    const pairOf = async (alg: "RS256" | "ES256" | "EdDSA") => {
      const pair = await generateKeyPair(alg, { extractable: true });
      const pem = await exportSPKI(pair.publicKey);
      return { token: (claims: JWTPayload, header: Record<string, unknown> = { alg }) => sign(claims, header, pair.privateKey), keys: keysOf(publicKey(pem, alg)), pem };
    };
    [rsa, ec, ed] = await Promise.all([pairOf("RS256"), pairOf("ES256"), pairOf("EdDSA")]);
  });

  it("verifies RS256, ES256 and EdDSA tokens with their public keys, 0.x and 1.0 alike", async () => {
    for (const { token, keys } of [rsa, ec, ed]) {
      const alg = keys.publisher!.kind === "public" ? keys.publisher!.alg : "";
      expect((await verify(token({ mercure: { publish: ["a"] } }), keys)).canPublish("a")).toBe(true);
      expect((await verify(token(access([detail(["publish"], [{ match: "b" }])]), { alg, typ: "at+jwt" }), keys)).canPublish("b")).toBe(true);
    }
  });

  it("verifies HS384 and HS512 with an HMAC secret", async () => {
    for (const alg of ["HS384", "HS512"]) expect((await verify(sign({ mercure: { publish: ["a"] } }, { alg }))).canPublish("a")).toBe(true);
  });

  it("refuses alg none", async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const unsecured = `${b64({ alg: "none" })}.${b64({ mercure: { publish: ["*"] } })}.`;
    await invalid(unsecured, hmac);
    await invalid(unsecured, rsa.keys);
    const typedNone = `${b64({ alg: "none", typ: "at+jwt" })}.${b64(access([detail(["publish"], [{ match: "*" }])]))}.`;
    await invalid(typedNone, hmac);
  });

  it("refuses an HS256 token made with an RSA public key as its secret (algorithm confusion)", async () => {
    const forged = await sign({ mercure: { publish: ["*"] } }, { alg: "HS256" }, bytes(rsa.pem));
    await invalid(forged, rsa.keys, /alg/i);
    // And a public-key token against an HMAC secret, or against another family's key.
    await invalid(rsa.token({ mercure: { publish: ["*"] } }), hmac, /alg/i);
    await invalid(ec.token({ mercure: { publish: ["*"] } }), rsa.keys, /alg/i);
  });

  it("refuses a token signed with another key", async () => {
    await invalid(sign({ mercure: { publish: ["*"] } }, { alg: "HS256" }, bytes("another-secret-that-is-also-32-bytes-long")), hmac, /signature/);
    const other = await generateKeyPair("RS256");
    await invalid(sign({ mercure: { publish: ["*"] } }, { alg: "RS256" }, other.privateKey), rsa.keys, /signature/);
  });

  it("verifies with the key of the role: publisher tokens with the publisher key, subscriber tokens with the subscriber key", async () => {
    const keys: MercureKeys = { publisher: hmacKey(SECRET), subscriber: ec.keys.subscriber, issuer: null, audience: null };
    const publisherToken = await sign({ mercure: { publish: ["*"], subscribe: ["*"] } });
    expect((await verify(publisherToken, keys, "publish")).canPublish("a")).toBe(true);
    expect((await refusal(publisherToken, keys, "subscribe")).error).toBe("invalid_token");
    expect((await verify(ec.token({ mercure: { subscribe: ["*"] } }), keys, "subscribe")).canSubscribe("a")).toBe(true);
    // A role without a key verifies nothing.
    const noSubscriberKey: MercureKeys = { ...keys, subscriber: null };
    const err = await refusal(publisherToken, noSubscriberKey, "subscribe");
    expect(err.message).toMatch(/no subscriber key/);
  });

  it("refuses what is not a JWT", async () => {
    await invalid("not.a.jwt", hmac, /not a JWT/);
    await invalid("sb_an-api-key", hmac, /not a JWT/);
  });
});

describe("presentedToken: where the token comes from", () => {
  const request = (parts: { header?: Record<string, string>; query?: Record<string, string>; cookie?: Record<string, string> }) => ({
    header: (name: string) => parts.header?.[name.toLowerCase()],
    query: (name: string) => parts.query?.[name],
    cookie: (name: string) => parts.cookie?.[name],
  });
  const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJtZXJjdXJlIjp7fX0.c2lnbmF0dXJl";
  const OTHER_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";

  it("takes the Authorization header first, then the query parameter, then the cookie", () => {
    const all = { header: { authorization: `Bearer ${JWT}` }, query: { authorization: OTHER_JWT }, cookie: { [COOKIE_0X]: "cookie.value.x" } };
    expect(presentedToken(request(all))).toEqual({ kind: "jwt", value: JWT, from: "header" });
    expect(presentedToken(request({ query: all.query, cookie: all.cookie }))).toEqual({ kind: "jwt", value: OTHER_JWT, from: "query" });
    expect(presentedToken(request({ cookie: all.cookie }))).toEqual({ kind: "jwt", value: "cookie.value.x", from: "cookie" });
    expect(presentedToken(request({}))).toBeNull();
  });

  it("reads both cookie names, the 1.0 one first, and takes an empty cookie for none", () => {
    expect(presentedToken(request({ cookie: { [COOKIE_1_0]: JWT } }))).toEqual({ kind: "jwt", value: JWT, from: "cookie" });
    expect(presentedToken(request({ cookie: { [COOKIE_0X]: OTHER_JWT } }))).toEqual({ kind: "jwt", value: OTHER_JWT, from: "cookie" });
    expect(presentedToken(request({ cookie: { [COOKIE_1_0]: JWT, [COOKIE_0X]: OTHER_JWT } }))?.value).toBe(JWT);
    expect(presentedToken(request({ cookie: { [COOKIE_1_0]: "", [COOKIE_0X]: OTHER_JWT } }))?.value).toBe(OTHER_JWT);
    expect(presentedToken(request({ cookie: { [COOKIE_0X]: "" } }))).toBeNull();
    expect(presentedToken(request({ cookie: { other: JWT } }))).toBeNull();
  });

  it("matches the Bearer scheme in any case and tags a value that is not a JWT (an API key) as other", () => {
    expect(presentedToken(request({ header: { authorization: `bearer   ${JWT}` } }))).toEqual({ kind: "jwt", value: JWT, from: "header" });
    expect(presentedToken(request({ header: { authorization: "Bearer sb_4kQmZ-abc_123" } }))).toEqual({ kind: "other", value: "sb_4kQmZ-abc_123", from: "header" });
    expect(presentedToken(request({ query: { authorization: "sb_key" } }))).toEqual({ kind: "other", value: "sb_key", from: "query" });
    // An admin key chosen by the deployment may hold any visible character, as the API's own auth allows.
    expect(presentedToken(request({ header: { authorization: "Bearer my-admin-key!2026#long-enough" } }))).toEqual({ kind: "other", value: "my-admin-key!2026#long-enough", from: "header" });
  });

  it("answers a malformed presentation with 400 invalid_request", () => {
    const malformed = (parts: Parameters<typeof request>[0], message: RegExp) => {
      let err: unknown;
      try {
        presentedToken(request(parts));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(MercureAuthError);
      expect(err).toMatchObject({ status: 400, error: "invalid_request", challenge: 'Bearer realm="mercure", error="invalid_request"' });
      expect((err as Error).message).toMatch(message);
    };
    malformed({ header: { authorization: "Bearer" } }, /no token after Bearer/);
    malformed({ header: { authorization: "Bearer " } }, /no token after Bearer/);
    malformed({ header: { authorization: `Basic ${JWT}` } }, /must be "Bearer <token>"/);
    malformed({ header: { authorization: `Bearer ${JWT} extra` } }, /must be "Bearer <token>"/);
    // The header is used even when a good cookie is there too: a broken header is not papered over.
    malformed({ header: { authorization: "Bearer" }, cookie: { [COOKIE_1_0]: JWT } }, /no token after Bearer/);
    malformed({ query: { authorization: "" } }, /authorization query parameter is empty/);
  });

  it("refuses a 1.0 access token from the URL, and takes a 0.x token there", async () => {
    const details = access([detail(["subscribe"], [{ match: "*" }])]);
    const typed = await sign(details, AT_JWT);
    const err = await verifyToken({ kind: "jwt", value: typed, from: "query" }, hmac, "subscribe", HUB, NOW).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, error: "invalid_request" });
    expect((err as Error).message).toMatch(/may not travel in the URL/);
    expect((await verifyToken({ kind: "jwt", value: typed, from: "cookie" }, hmac, "subscribe", HUB, NOW)).canSubscribe("a")).toBe(true);
    const old = await sign({ mercure: { subscribe: ["*"] } });
    expect((await verifyToken({ kind: "jwt", value: old, from: "query" }, hmac, "subscribe", HUB, NOW)).canSubscribe("a")).toBe(true);
  });
});

describe("the challenges", () => {
  it("has no error code when a token is missing, and insufficient_scope for a route's refusal", () => {
    const missing = tokenRequired();
    expect(missing).toMatchObject({ status: 401, error: undefined, challenge: 'Bearer realm="mercure"' });
    const scope = insufficientScope('the token may not publish to "https://example.com/books/1"');
    expect(scope).toMatchObject({ status: 403, error: "insufficient_scope", challenge: 'Bearer realm="mercure", error="insufficient_scope"' });
    expect(scope.message).toMatch(/may not publish/);
  });
});
