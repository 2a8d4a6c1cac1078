import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Context } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readChunks } from "../src/http/event-body.js";
import { TurnBudget } from "../src/turn-budget.js";
import { TurnCounter } from "./support/turns.js";

/**
 * A request body is read on the loop's budget: one socket read can bring
 * megabytes, and scanning them all in one turn held every other client.
 * A real server and a real socket, with a budget of 0 ms (every chunk
 * spends it): no two chunks may be handled in the same turn.
 */
describe("reading a body within the turn's budget", () => {
  let server: http.Server;
  let url: string;
  /** What the handler saw: the body's text and the turn each chunk came in. */
  let seen: Promise<{ text: string; turns: number[] }>;

  beforeAll(async () => {
    let settle!: (v: { text: string; turns: number[] }) => void;
    seen = new Promise((resolve) => (settle = resolve));
    server = http.createServer((req, res) => {
      const turns = new TurnCounter();
      const c = { req: { header: () => undefined }, env: { incoming: req } } as unknown as Context;
      const chunkTurns: number[] = [];
      let text = "";
      void readChunks(
        c,
        64 * 1024 * 1024,
        (chunk) => {
          text += chunk;
          chunkTurns.push(turns.count);
        },
        new TurnBudget(0),
      ).then(() => {
        turns.stop();
        res.end("ok");
        settle({ text, turns: chunkTurns });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("reads an 8 MB body whole, one chunk per turn once the budget is spent", async () => {
    const body = Array.from({ length: 8 * 1024 }, (_, i) => String(i % 10).repeat(1023) + "\n").join("");
    const res = await fetch(url, { method: "POST", body });
    expect(await res.text()).toBe("ok");
    const { text, turns } = await seen;
    expect(text).toBe(body);
    // The text ends with the decoder's flush (an empty chunk) in the turn of the body's end.
    const chunks = turns.slice(0, -1);
    expect(chunks.length).toBeGreaterThan(8);
    for (let i = 1; i < chunks.length; i++) expect(chunks[i], `chunk ${i} shares turn ${chunks[i]} with the one before`).toBeGreaterThan(chunks[i - 1]);
  });
});
