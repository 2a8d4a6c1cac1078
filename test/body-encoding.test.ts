import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { historyPage } from "./support/history-pages.js";
import { onNextRequest } from "./support/next-request.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "./support/server.js";

const PATH = "/api/v1/tenants/demo/events";

/**
 * Resolves once the server has parsed the head of the next request (the server runs in this process): the
 * body's first part, sent in the same write, came in the same read of the socket, so the next write is
 * another read, and another chunk of the body.
 */
function headParsed(): Promise<void> {
  return new Promise((resolve) => onNextRequest(PATH, () => resolve()));
}

/**
 * Sends one publish whose body arrives in two reads, split inside a
 * character: `first` and `second` are the body's bytes either side.
 * Resolves with the response's status line and body.
 */
async function splitPublish(server: TestServer, first: Buffer, second: Buffer): Promise<{ status: number; body: string }> {
  const { port } = new URL(server.url);
  const socket = net.connect(Number(port), "127.0.0.1");
  socket.setNoDelay(true);
  const response = new Promise<string>((resolve, reject) => {
    let text = "";
    socket.on("data", (chunk) => (text += chunk.toString("utf8")));
    socket.on("end", () => resolve(text));
    socket.on("error", reject);
  });
  const parsed = headParsed();
  const head = `POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${first.length + second.length}\r\nConnection: close\r\n\r\n`;
  socket.write(Buffer.concat([Buffer.from(head), first]));
  await parsed;
  socket.write(second);
  const text = await response;
  const [statusLine] = text.split("\r\n", 1);
  return { status: Number(statusLine.split(" ")[1]), body: text.slice(text.indexOf("\r\n\r\n") + 4) };
}

/**
 * A body is decoded as UTF-8 as it streams in: a chunk that is whole UTF-8
 * by itself is decoded on its own, and a character whose bytes are split
 * between two reads of the socket is carried to the next one.
 */
describe("a body's UTF-8, across the reads of its socket", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.dispose());

  it("keeps a character split between two reads", async () => {
    const euro = Buffer.from("€"); // three bytes
    const before = Buffer.concat([Buffer.from('{"type":"enc.split","data":{"s":"a'), euro.subarray(0, 1)]);
    const after = Buffer.concat([euro.subarray(1), Buffer.from('b"}}')]);
    const res = await splitPublish(server, before, after);
    expect(res.status).toBe(201);
    const page = await historyPage(server, "demo", { types: "enc.split" });
    expect(page.events.map((e) => e.data)).toEqual([{ s: "a€b" }]);
  });

  it("refuses a split character whose bytes are not UTF-8 with 400 invalid_encoding", async () => {
    const before = Buffer.concat([Buffer.from('{"type":"enc.bad","data":{"s":"a'), Buffer.from([0xe2])]);
    const after = Buffer.concat([Buffer.from([0x28, 0x28]), Buffer.from('b"}}')]);
    const res = await splitPublish(server, before, after);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: "invalid_encoding", message: "the body is not valid UTF-8" });
    const page = await historyPage(server, "demo", { types: "enc.bad" });
    expect(page.events).toEqual([]);
  });

  it("refuses a body that ends inside a character", async () => {
    const res = await splitPublish(server, Buffer.from('{"type":"enc.cut","data":{"s":"a"}}'), Buffer.from([0xe2, 0x82]));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: "invalid_encoding" });
  });
});
