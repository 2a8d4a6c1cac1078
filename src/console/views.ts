import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Eta } from "eta";
import { helpers } from "./helpers.js";

const VIEWS = resolve(dirname(fileURLToPath(import.meta.url)), "../../views");

/**
 * Server-rendered HTML: Eta templates in views/ (layout, pages, partials),
 * escaped by default — event data is rendered as text, never as markup.
 * Every template gets `it.h`, the formatting helpers.
 */
export class Views {
  readonly #eta: Eta;

  constructor(options: { cache?: boolean } = {}) {
    this.#eta = new Eta({ views: VIEWS, autoEscape: true, cache: options.cache ?? true, autoTrim: [false, "nl"] });
  }

  /** Renders `name` (e.g. "partials/calls-panel") with `data`. */
  render(name: string, data: Record<string, unknown> = {}): string {
    return this.#eta.render(name, { ...data, h: helpers });
  }
}
