/**
 * The `<hx-partial>` elements page streams and htmx answers are made of:
 * one swap each, into the element its `hx-target` names. Live updates morph
 * (htmx 4's `outerMorph`): the elements already on the page are edited in
 * place, so focus, a text selection, an open `<details>`, scroll positions,
 * CSS transitions and a button being pressed all survive.
 */

/** Morphs the element with this id into `html` (whose root has the same id). */
export function morphPartial(id: string, html: string): string {
  return `<hx-partial hx-target="#${id}" hx-swap="outerMorph">${html}</hx-partial>`;
}

/** Replaces the element with this id by `html` outright (its root has the same id): what is not a live item. */
export function replacePartial(id: string, html: string): string {
  return `<hx-partial hx-target="#${id}" hx-swap="outerHTML">${html}</hx-partial>`;
}

/**
 * Puts items into the list with this id (public/console.js, `upsertMorph`):
 * an item whose id is on the page is moved into place and morphed, a new one
 * inserted where its `data-order` sorts, and the list keeps at most its
 * `data-max` items. The same partial applied twice leaves the same page.
 */
export function upsertPartial(listId: string, items: readonly string[]): string {
  return `<hx-partial hx-target="#${listId}" hx-swap="upsertMorph">${items.join("")}</hx-partial>`;
}

/**
 * Folds progress into a feed list (public/console.js, `foldMorph`): each
 * `.fold` element is morphed into the line of the newest item of its
 * `data-subject`, when that item has one.
 */
export function foldPartial(listId: string, folds: string): string {
  return `<hx-partial hx-target="#${listId}" hx-swap="foldMorph">${folds}</hx-partial>`;
}

/** Removes the element with this id, when the page has it. */
export function deletePartial(id: string): string {
  return `<hx-partial hx-target="#${id}" hx-swap="delete"></hx-partial>`;
}

/** Inserts `html` into the element with this id at `where`, e.g. new feed items at its top. */
export function insertPartial(id: string, where: "afterbegin" | "beforeend", html: string): string {
  return `<hx-partial hx-target="#${id}" hx-swap="${where}">${html}</hx-partial>`;
}
