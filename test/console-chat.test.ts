import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandStream, emit, post } from "./support/chat.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";
import { tenantKey } from "./support/tenants.js";

/**
 * The chat console's forms without JavaScript: plain POSTs answered with a
 * 303 back to the page, the same commands as the API (they reach the
 * agent), the control scope enforced on the server, and CSRF required.
 */
describe("chat console forms", () => {
  let server: TestServer;
  let readOnly: string;
  let agent: SseClient;

  beforeAll(async () => {
    server = await startTestServer();
    readOnly = (await tenantKey(server, "demo", ["read"])).secret;
    agent = await commandStream(server, "bot");
  });
  afterAll(async () => {
    agent?.close();
    await server?.dispose();
  });

  /** Signs in with `key`; returns the cookie and the CSRF token of the sessions list page. */
  const signIn = async (key: string) => {
    const login = await fetch(`${server.url}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: server.url },
      body: new URLSearchParams({ key }),
    });
    const cookie = login.headers.get("set-cookie")!.split(";")[0];
    // The sessions list, where the "new session" form is.
    const html = await (await fetch(`${server.url}/t/demo/sessions`, { headers: { cookie } })).text();
    return { cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(html)![1], html };
  };
  const form = (who: { cookie: string }, path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(server.url + path, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: server.url, cookie: who.cookie, ...headers },
      body: new URLSearchParams(fields),
    });

  it("opens a session, sends a message and cancels a tool run as plain form posts", async () => {
    const admin = await signIn(ADMIN_KEY);
    expect(admin.html).toContain('id="new-session"');

    const opened = await form(admin, "/t/demo/sessions", { _csrf: admin.csrf, agent: "bot", title: "Plain forms" });
    expect(opened.status).toBe(303);
    const view = opened.headers.get("location")!;
    expect(view).toMatch(/^\/t\/demo\/sessions\/[0-9a-f-]{36}$/);
    const sessionId = decodeURIComponent(view.split("/").pop()!);

    const sent = await form(admin, `${view}/messages`, { _csrf: admin.csrf, text: "Hello from a form" });
    expect(sent.status).toBe(303);
    expect(sent.headers.get("location")).toBe(view);
    await agent.until((c) => c.messages.some((m) => m.event === "chat.message"));
    const command = JSON.parse(agent.messages.find((m) => m.event === "chat.message")!.data);
    expect(command).toMatchObject({ subject: sessionId, data: { text: "Hello from a form", worker: "bot" } });

    // An empty message is refused with the page, the reason shown.
    const empty = await form(admin, `${view}/messages`, { _csrf: admin.csrf, text: "   " });
    expect(empty.status).toBe(422);
    expect(await empty.text()).toContain("Type a message first.");

    await emit(server, { type: "tool.started", subject: "t-1", data: { session_id: sessionId, message_id: command.data.message_id, name: "lookup" } });
    const cancelled = await form(admin, "/t/demo/tools/t-1/cancel", { _csrf: admin.csrf });
    expect(cancelled.status).toBe(303);
    expect(cancelled.headers.get("location")).toBe(view);
    await agent.until((c) => c.messages.some((m) => m.event === "tool.cancel_requested"));
    const page = await (await fetch(server.url + view, { headers: { cookie: admin.cookie } })).text();
    expect(page).toContain("cancel requested…");
    expect(page).toContain("Hello from a form");

    // With htmx, the partial instead of a redirect.
    const partial = await form(admin, "/t/demo/tools/t-1/cancel", { _csrf: admin.csrf }, { "hx-request": "true" });
    expect(partial.status).toBe(200);
    expect(await partial.text()).toMatch(/^<div id="tool-t-1"/);

    // A session without its agent is refused with the form, what was typed and why.
    const noAgent = await form(admin, "/t/demo/sessions", { _csrf: admin.csrf, agent: " ", title: "Kept" }, { "hx-request": "true" });
    expect(noAgent.status).toBe(422);
    const body = await noAgent.text();
    expect(body).toMatch(/^<form id="new-session"/);
    expect(body).toContain('value="Kept"');
    expect(body).toContain("Name the agent");
  });

  it("refuses control without the control scope, and any post without the CSRF token", async () => {
    const viewer = await signIn(readOnly);
    expect(viewer.html).not.toContain('id="new-session"');
    const session = await post(server, "/sessions", { agent: "bot", id: "s-scope" });
    expect(session.status).toBe(201);
    const page = await (await fetch(`${server.url}/t/demo/sessions/s-scope`, { headers: { cookie: viewer.cookie } })).text();
    expect(page).not.toContain('id="chat-send"');
    expect((await form(viewer, "/t/demo/sessions/s-scope/messages", { _csrf: viewer.csrf, text: "hi" })).status).toBe(403);
    expect((await form(viewer, "/t/demo/sessions", { _csrf: viewer.csrf, agent: "bot" })).status).toBe(403);

    const admin = await signIn(ADMIN_KEY);
    expect((await form(admin, "/t/demo/sessions/s-scope/messages", { text: "no token" })).status).toBe(403);
    expect((await fetch(`${server.url}/t/demo/sessions/nope`, { headers: { cookie: admin.cookie } })).status).toBe(404);
  });

  it("refuses a form posted from another origin, or from a page that sent none, saying so", async () => {
    const admin = await signIn(ADMIN_KEY);
    for (const path of ["/t/demo/sessions/s-scope/messages", "/login", "/logout"]) {
      const foreign = await form(admin, path, { _csrf: admin.csrf, text: "hi", key: ADMIN_KEY }, { origin: "https://evil.example" });
      expect(foreign.status, path).toBe(403);
      expect(await foreign.json()).toEqual({
        error: "cross_origin",
        message: `this form was posted from another origin (https://evil.example), not from ${server.url}: the console takes forms from its own pages only. Behind a proxy, pass the original Host header through`,
      });
    }
    const none = await fetch(`${server.url}/t/demo/sessions/s-scope/messages`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: admin.cookie },
      body: new URLSearchParams({ _csrf: admin.csrf, text: "hi" }),
    });
    expect(none.status).toBe(403);
    expect((await none.json()).message).toMatch(/^this form was posted from a page that sent no Origin/);
    // A browser's own page passes by Sec-Fetch-Site even where the Origin does not match (a proxy that rewrote Host).
    const sameSite = await form(admin, "/t/demo/sessions/s-scope/messages", { _csrf: admin.csrf, text: "from our page" }, { origin: "https://proxy.example", "sec-fetch-site": "same-origin" });
    expect(sameSite.status).toBe(303);
  });

  it("streams only the session's own events, each as the one partial it changed", async () => {
    const admin = await signIn(ADMIN_KEY);
    for (const id of ["s-live", "s-other"]) {
      expect((await post(server, "/sessions", { agent: "bot", id })).status).toBe(201);
      expect((await post(server, `/sessions/${id}/messages`, { text: "hi", message_id: `q-${id}` })).status).toBe(201);
    }
    const head = (await (await fetch(`${server.url}/api/v1/tenants/demo/events?after=0&limit=1000`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json()).events.at(-1).id;
    const live = await SseClient.open(`${server.url}/t/demo/sessions/s-live/live?after=${head}`, { cookie: admin.cookie });
    expect(live.status).toBe(200);
    const frames = () => live.messages.filter((m) => m.event === undefined);
    const delta = (session: string, data: Record<string, unknown>) => emit(server, { type: "chat.delta", subject: session, data });

    await delta("s-other", { message_id: "a-other", reply_to: "q-s-other", seq: 0, text: "elsewhere" });
    await delta("s-live", { message_id: "a-live", reply_to: "q-s-live", seq: 0, text: "Hello" });
    await live.until(() => frames().length >= 1);
    // The first piece of an answer brings its turn (it may have created the message)...
    expect(frames()[0].data).toMatch(/^<hx-partial hx-target="#turn-q-s-live" hx-swap="outerMorph"><li id="turn-q-s-live"/);
    // ...then each piece only the message being streamed; a repeated piece nothing at all.
    await delta("s-live", { message_id: "a-live", seq: 1, text: " there" });
    await delta("s-live", { message_id: "a-live", seq: 1, text: " again" });
    await emit(server, { type: "chat.completed", subject: "s-live", data: { message_id: "a-live" } });
    await live.until(() => frames().length >= 3);
    const [, piece, done] = frames();
    expect(piece.data).toMatch(/^<hx-partial hx-target="#msg-a-live" hx-swap="outerMorph"><article id="msg-a-live"/);
    expect(piece.data).toContain("Hello there");
    expect(piece.data).not.toContain("transcript-items");
    expect(done.data).toMatch(/hx-target="#msg-a-live"/);
    expect(done.data).not.toContain('class="typing"');
    expect(live.messages.some((m) => m.data.includes("elsewhere") || m.data.includes(" again"))).toBe(false);
    live.close();
  });
});
