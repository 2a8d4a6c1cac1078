import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publish, startTestServer, type TestServer } from "./support/server.js";
import { tenantKey } from "./support/tenants.js";

describe("publishing commands", () => {
  let server: TestServer;
  let publishOnly: string;
  let withControl: string;
  beforeAll(async () => {
    server = await startTestServer();
    publishOnly = (await tenantKey(server, "demo", ["read", "publish"])).secret;
    withControl = (await tenantKey(server, "demo", ["publish", "control"])).secret;
  });
  afterAll(() => server.dispose());

  const command = { type: "channel.connect_requested", subject: "ch-1", data: { platform: "slack", name: "Support", kind: "channels" } };

  it("needs the control scope, like the command routes", async () => {
    const denied = await publish(server, "demo", [{ type: "note.added" }, command], { key: publishOnly });
    expect(denied.status).toBe(403);
    expect(denied.body.message).toMatch(/channel\.connect_requested is a command.*"control" scope/);

    const allowed = await publish(server, "demo", command, { key: withControl });
    expect(allowed.status).toBe(201);
    // Nothing of the refused batch was appended: the log holds only the allowed command.
    const log = await (await fetch(`${server.url}/api/v1/tenants/demo/events`, { headers: { authorization: `Bearer ${publishOnly}` } })).json();
    expect(log.events.map((e: { type: string }) => e.type)).toEqual(["channel.connect_requested"]);
  });

  it("leaves ordinary events to the publish scope", async () => {
    expect((await publish(server, "demo", { type: "note.added" }, { key: publishOnly })).status).toBe(201);
  });
});
