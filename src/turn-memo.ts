/**
 * Answers remembered until the event loop's next turn. Some lookups run on
 * every request (which key a secret is, whether a tenant is disabled) and
 * must see a change made by another process (the CLI) at once. Under load
 * one turn serves dozens of requests with the same key; asking the database
 * once per turn is as current as asking per request, since requests read in
 * the same turn could not tell which came first anyway. Bounded: past the
 * bound, a turn of requests with distinct secrets asks the database each
 * time rather than growing the map.
 */
export class TurnMemo<K, V> {
  readonly #answers = new Map<K, V>();
  #clearing = false;

  constructor(readonly max = 256) {}

  get(key: K, answer: (key: K) => V): V {
    if (this.#answers.has(key)) return this.#answers.get(key)!;
    const value = answer(key);
    if (this.#answers.size < this.max) {
      this.#answers.set(key, value);
      if (!this.#clearing) {
        this.#clearing = true;
        setImmediate(this.clear);
      }
    }
    return value;
  }

  /** Forgets every answer: after a change made in this process, the next question asks again. */
  clear = (): void => {
    this.#answers.clear();
    this.#clearing = false;
  };
}
