/**
 * Open streams per address group, under a cap: what keeps one source from
 * holding every anonymous stream a hub allows.
 */
export class AddressCaps {
  readonly #open = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Counts one more stream for `group`; false (and nothing counted) when it already holds `max`. */
  take(group: string): boolean {
    const open = this.#open.get(group) ?? 0;
    if (open >= this.max) return false;
    this.#open.set(group, open + 1);
    return true;
  }

  release(group: string): void {
    const open = this.#open.get(group) ?? 0;
    if (open <= 1) this.#open.delete(group);
    else this.#open.set(group, open - 1);
  }
}
