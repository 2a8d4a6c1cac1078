import { describe, expect, it } from "vitest";
import { CommitQueue } from "../src/store/commit-groups.js";

/** A request of `n` events of `bytes` bytes of data each, named for the assertions. */
const request = (name: string, tenant: string, n = 1, bytes = 10) => ({
  name,
  tenant,
  events: Array.from({ length: n }, () => ({ type: "t", data: "x".repeat(bytes) })),
});
const names = (group: { name: string }[]) => group.map((r) => r.name);

describe("CommitQueue", () => {
  it("takes requests in order while the group stays within its events and bytes", () => {
    const queue = new CommitQueue<ReturnType<typeof request>>({ maxEvents: 10, maxBytes: 1_000_000, sharedBytes: 1_000_000 });
    for (const [i, n] of [4, 4, 4, 1].entries()) queue.push(request(`r${i}`, "a", n));
    expect(names(queue.take())).toEqual(["r0", "r1"]);
    expect(names(queue.take())).toEqual(["r2", "r3"]);
    expect(queue.length).toBe(0);
  });

  it("makes a request larger than the limits a group of its own", () => {
    const queue = new CommitQueue<ReturnType<typeof request>>({ maxEvents: 100, maxBytes: 1_000, sharedBytes: 1_000 });
    queue.push(request("big", "a", 1, 5_000));
    queue.push(request("small", "a"));
    expect(names(queue.take())).toEqual(["big"]);
    expect(names(queue.take())).toEqual(["small"]);
  });

  it("puts tenants absent from the last group first, so one event waits for one large commit, not two", () => {
    const queue = new CommitQueue<ReturnType<typeof request>>({ maxEvents: 5_000, maxBytes: 100_000, sharedBytes: 100_000 });
    queue.push(request("bulk1", "bulk", 25, 5_000));
    expect(names(queue.take())).toEqual(["bulk1"]);
    // While bulk1 commits, bulk sends its next batch (a group of its own, past the bytes), then another tenant one event.
    queue.push(request("bulk2", "bulk", 25, 5_000));
    queue.push(request("probe", "probe"));
    expect(names(queue.take())).toEqual(["probe"]);
    expect(names(queue.take())).toEqual(["bulk2"]);
  });

  it("lets the last group's tenants join waiting tenants only while the group stays small, so a waiting event's commit is short", () => {
    const queue = new CommitQueue<ReturnType<typeof request>>({ maxEvents: 5_000, maxBytes: 100_000, sharedBytes: 1_000 });
    queue.push(request("bulk1", "bulk", 10, 5_000));
    expect(names(queue.take())).toEqual(["bulk1"]);
    // bulk2 and the probe fit in one group by the group's bytes, but bulk2 is far past what may join a waiting tenant.
    queue.push(request("bulk2", "bulk", 10, 5_000));
    queue.push(request("probe", "probe"));
    expect(names(queue.take())).toEqual(["probe"]);
    expect(names(queue.take())).toEqual(["bulk2"]);
    // A busy tenant's single events still share the waiting tenant's group, in order, up to the shared bytes.
    for (const name of ["b1", "b2"]) queue.push(request(name, "bulk"));
    queue.push(request("b3", "bulk", 1, 2_000));
    queue.push(request("p2", "probe"));
    expect(names(queue.take())).toEqual(["p2", "b1", "b2"]);
    expect(names(queue.take())).toEqual(["b3"]);
    expect(queue.length).toBe(0);
  });

  it("keeps each tenant's requests in order, and gives the tenant that went last its turn next", () => {
    const queue = new CommitQueue<ReturnType<typeof request>>({ maxEvents: 2, maxBytes: 100_000, sharedBytes: 100_000 });
    queue.push(request("a1", "a"));
    expect(names(queue.take())).toEqual(["a1"]);
    for (const name of ["a2", "a3", "b1", "b2", "b3", "a4"]) queue.push(request(name, name[0]));
    expect(names(queue.take())).toEqual(["b1", "b2"]);
    expect(names(queue.take())).toEqual(["a2", "a3"]);
    expect(names(queue.take())).toEqual(["b3", "a4"]);
    expect(queue.length).toBe(0);
  });
});
