import { describe, expect, it } from "vitest";
import { workflowPage, type WorkflowListFilter } from "../src/domain/workflows/list.js";
import { workflows } from "../src/domain/workflows/schema.js";
import { openDb } from "../src/store/db.js";
import type { Cursor } from "../src/store/keyset.js";
import { SEARCH_WINDOW } from "../src/store/search.js";

/**
 * A search that matches little must not read a large tenant's whole list in
 * one request (the event loop would wait for it): each page examines one
 * window of the list, and following "Older" finds what lies beyond.
 */
describe("a list's search", () => {
  it("reads one window per page, and finds a match past it by following the pages", () => {
    const db = openDb(":memory:");
    const total = 2 * SEARCH_WINDOW + 500;
    db.$client.transaction(() => {
      for (let i = 0; i < total; i++) {
        // The oldest workflow is the one searched for: behind every window but the last.
        const name = i === 0 ? "the needle" : `batch ${i}`;
        db.insert(workflows).values({ tenant: "acme", workflowId: `wf-${String(i).padStart(6, "0")}`, name, state: "completed", worker: "w", startedAt: i, stateAt: i, updatedAt: i, eventId: i + 1 }).run();
      }
    })();
    const search = (before: Cursor | null) => workflowPage(db, "acme", { state: null, q: "needle", before } satisfies WorkflowListFilter);

    const pages: { rows: string[]; older: Cursor | null }[] = [];
    let before: Cursor | null = null;
    do {
      const page = search(before);
      pages.push({ rows: page.rows.map((w) => w.workflowId), older: page.older });
      before = page.older;
    } while (before !== null && pages.length < 10);

    // One window per page: two full windows with nothing, then the rest, with the needle.
    expect(pages.map((p) => p.rows)).toEqual([[], [], ["wf-000000"]]);
    expect(pages[0].older).toEqual({ at: total - SEARCH_WINDOW, id: `wf-${String(total - SEARCH_WINDOW).padStart(6, "0")}` });
    // A search that finds a page's worth within the window pages as the list does.
    const common = workflowPage(db, "acme", { state: null, q: "batch", before: null });
    expect(common.rows).toHaveLength(50);
    expect(common.older).toEqual({ at: total - 50, id: `wf-${String(total - 50).padStart(6, "0")}` });
    db.$client.close();
  });
});
