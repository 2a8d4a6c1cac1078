import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, startTestServer, type TestServer } from "./support/server.js";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * POSTs the login form over node:http, which sends what it is given (fetch
 * would refuse some of these `next` values) and can pick the source address
 * (any 127.0.0.0/8 address reaches a server on 127.0.0.1).
 */
function postLogin(server: { url: string }, form: Record<string, string>, options: { from?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}/login`,
      {
        method: "POST",
        localAddress: options.from,
        headers: { "content-type": "application/x-www-form-urlencoded", origin: server.url, ...options.headers },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (s: string) => (text += s));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("login: where `next` may send the operator", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it("ignores every `next` that is not a path on this site, and never answers 500", async () => {
    const foreign = [
      "/\t/evil.example/", // browsers drop the tab: //evil.example/
      "/\n/evil.example/",
      "/\r\n/evil.example/",
      "/x\r\nSet-Cookie: planted=1",
      "//evil.example/",
      "/\\evil.example/",
      "\\/evil.example/",
      "https://evil.example/",
      "javascript:alert(1)",
      "evil.example",
      " /t/demo",
      "/t/demo\u0000",
      "/t/démo",
      "",
    ];
    for (const next of foreign) {
      const res = await postLogin(server, { key: ADMIN_KEY, next });
      expect([JSON.stringify(next), res.status, res.headers.location]).toEqual([JSON.stringify(next), 303, "/t/demo"]);
      expect(res.headers["set-cookie"]?.[0]).toMatch(/^sb_session=/);
    }
  });

  it("keeps a local path, query included", async () => {
    for (const next of ["/t/demo/stats?agent_status=busy&x=%2F%2Fy", "/admin", "/"]) {
      const res = await postLogin(server, { key: ADMIN_KEY, next });
      expect([res.status, res.headers.location]).toEqual([303, next]);
    }
  });

  it("does not carry a foreign `next` into the login form", async () => {
    const page = await (await fetch(`${server.url}/login?next=${encodeURIComponent("/\t/evil.example/")}`)).text();
    expect(page).not.toMatch(/name="next"/);
    const kept = await (await fetch(`${server.url}/login?next=${encodeURIComponent("/t/demo/stats")}`)).text();
    expect(kept).toContain('<input type="hidden" name="next" value="/t/demo/stats">');
  });
});

describe("login: failed sign-ins are throttled per client address", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ LOGIN_FAILURES_PER_ADDRESS: "3", LOGIN_FAILURE_WINDOW: "10m" });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it("answers 429 with Retry-After after the allowed failures, to every sign-in from that address; other addresses sign in", async () => {
    for (let i = 0; i < 3; i++) expect((await postLogin(server, { key: `sb_wrong_${i}` })).status).toBe(401);
    const refused = await postLogin(server, { key: "sb_wrong_3" });
    expect(refused.status).toBe(429);
    // 3 failures forgiven over 10 minutes: one every 200 s.
    expect(refused.headers["retry-after"]).toBe("200");
    expect(refused.body).toMatch(/Too many failed sign-ins from your address \(3 allowed per 10 min\)\. Try again in 200 s\./);
    // A correct key too: otherwise the answers would still tell a guesser which keys are wrong.
    expect((await postLogin(server, { key: ADMIN_KEY })).status).toBe(429);
    // X-Forwarded-For is not believed without TRUST_PROXY: a client cannot name itself another address.
    expect((await postLogin(server, { key: ADMIN_KEY }, { headers: { "x-forwarded-for": "198.51.100.7" } })).status).toBe(429);

    // The rightful operator elsewhere is not locked out.
    const elsewhere = await postLogin(server, { key: ADMIN_KEY }, { from: "127.0.0.2" });
    expect([elsewhere.status, elsewhere.headers.location]).toEqual([303, "/t/demo"]);
    expect((await postLogin(server, { key: "sb_wrong" }, { from: "127.0.0.2" })).status).toBe(401);
  });
});

describe("login throttle behind a proxy (TRUST_PROXY=1)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ LOGIN_FAILURES_PER_ADDRESS: "2", TRUST_PROXY: "1" });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it("counts by the address the proxy appended to X-Forwarded-For, not by what the client put before it", async () => {
    const via = (chain: string) => ({ headers: { "x-forwarded-for": chain } });
    expect((await postLogin(server, { key: "sb_wrong" }, via("203.0.113.9"))).status).toBe(401);
    // A forged entry on the left does not make a new address.
    expect((await postLogin(server, { key: "sb_wrong" }, via("192.0.2.1, 203.0.113.9"))).status).toBe(401);
    expect((await postLogin(server, { key: ADMIN_KEY }, via("192.0.2.2, 203.0.113.9"))).status).toBe(429);
    // Another client behind the same proxy signs in.
    expect((await postLogin(server, { key: ADMIN_KEY }, via("203.0.113.10"))).status).toBe(303);
    // An IPv6 client counts by its /64: rotating the interface id does not reset the count.
    expect((await postLogin(server, { key: "sb_wrong" }, via("2001:db8:1:2::1"))).status).toBe(401);
    expect((await postLogin(server, { key: "sb_wrong" }, via("2001:db8:1:2::ffff"))).status).toBe(401);
    expect((await postLogin(server, { key: ADMIN_KEY }, via("2001:db8:1:2:aaaa::1"))).status).toBe(429);
    expect((await postLogin(server, { key: ADMIN_KEY }, via("2001:db8:1:3::1"))).status).toBe(303);
  });
});
