import { describe, expect, it } from "vitest";
import { renderBatch } from "../src/console/live.js";
import type { Panel, PanelContext } from "../src/console/panels.js";
import { SharedRenders } from "../src/console/shared-renders.js";
import type { StoredEvent } from "../src/event.js";

const event = (id: number, type: string): StoredEvent => ({ id, tenant: "acme", type, subject: `s${id}`, data: "{}", key: null, ts: id });

// Only what renderBatch and SharedRenders read; a panel here renders from a counter, not from a database.
const ctx = { tenant: "acme", canControl: false, csrf: "", query: {} } as unknown as PanelContext;

/** A panel read from state alone, which changes on call events only; it counts its renders. */
function countingPanel(): Panel & { renders: number } {
  const panel = {
    id: "tiles",
    topics: ["call", "agent"],
    renders: 0,
    render: () => `<div id="tiles">${++panel.renders}</div>`,
    changedBy: (_ctx: PanelContext, events: readonly StoredEvent[]) => events.some((e) => e.type.startsWith("call.")),
  };
  return panel;
}

describe("a panel read from state alone, live", () => {
  it("renders once for every page group at one log position, whatever run of events each group holds", () => {
    const shared = new SharedRenders();
    const panel = countingPanel();
    const renders = shared.at(12);
    // Groups rendered on different turns hold different runs: one saw event 11 already, another holds 11 and 12.
    const a = renderBatch([panel], null, ctx, null, [event(12, "call.started")], renders);
    const b = renderBatch([panel], null, ctx, null, [event(11, "call.ended"), event(12, "call.started")], shared.at(12));
    expect(panel.renders).toBe(1);
    expect(b).toEqual(a);
    expect(a[0]).toContain("<div id=\"tiles\">1</div>");
    // The log moved on: the next render reads the state anew.
    renderBatch([panel], null, ctx, null, [event(13, "call.ended")], shared.at(13));
    expect(panel.renders).toBe(2);
  });

  it("sends nothing for a run that does not change it", () => {
    const panel = countingPanel();
    expect(renderBatch([panel], null, ctx, null, [event(5, "agent.status")], new SharedRenders().at(5))).toEqual([]);
    expect(panel.renders).toBe(0);
  });
});
