// A Map<number, V> whose newest entry is held outside the Map.
//
// Why: the commonest life of a tracked segment is create, attach, detach, IPC_RMID in one go.
// With a plain Map that is one set and one delete per segment, and V8's ordered hash table
// then fills with deleted slots and rehashes into a new table every few cycles. Measured on
// a host whose every system call empties the TLB, that cost 0.8-0.9 µs of a 14 µs cycle (the
// segment cycle of `npm run bench`); an entry that is set and deleted while it is still the
// newest never reaches the Map.
//
// Invariants:
// - a key is in at most one place: the front slot or the Map;
// - values() lists entries oldest first (the front is the newest); setting a key again makes
//   it the newest.

export class NewestFirstMap<V> {
  #frontKey = 0;
  #front: V | undefined = undefined;
  readonly #rest = new Map<number, V>();

  get size(): number {
    return this.#rest.size + (this.#front === undefined ? 0 : 1);
  }

  set(key: number, value: V): void {
    if (this.#front !== undefined && this.#frontKey !== key) this.#rest.set(this.#frontKey, this.#front);
    if (this.#rest.size !== 0) this.#rest.delete(key);
    this.#frontKey = key;
    this.#front = value;
  }

  get(key: number): V | undefined {
    if (this.#front !== undefined && this.#frontKey === key) return this.#front;
    return this.#rest.size === 0 ? undefined : this.#rest.get(key);
  }

  has(key: number): boolean {
    return this.get(key) !== undefined;
  }

  /** Removes `key`; returns whether it was there. */
  delete(key: number): boolean {
    if (this.#front !== undefined && this.#frontKey === key) {
      this.#front = undefined;
      return true;
    }
    return this.#rest.size !== 0 && this.#rest.delete(key);
  }

  /** A snapshot of the values, oldest first. */
  values(): V[] {
    const all = [...this.#rest.values()];
    if (this.#front !== undefined) all.push(this.#front);
    return all;
  }

  clear(): void {
    this.#front = undefined;
    this.#rest.clear();
  }
}
