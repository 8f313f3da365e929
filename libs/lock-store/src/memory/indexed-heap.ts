interface Entry {
  id: string;
  key: number;
}

/**
 * A binary min-heap of ids by a numeric key, with O(log n) insert, update and removal by id.
 * {@link IndexedMinHeap.forEachUpTo} visits only the entries whose key is `<= max` (plus their
 * direct children), so "which locks are due" costs the number of due locks, not the number of locks.
 */
export class IndexedMinHeap {
  private readonly items: Entry[] = [];
  private readonly positions = new Map<string, number>();

  get size(): number {
    return this.items.length;
  }

  /** Inserts `id`, or moves it to `key` if present. */
  set(id: string, key: number): void {
    const at = this.positions.get(id);
    if (at === undefined) {
      this.items.push({ id, key });
      this.positions.set(id, this.items.length - 1);
      this.up(this.items.length - 1);
      return;
    }
    const entry = this.entry(at);
    const old = entry.key;
    entry.key = key;
    if (key < old) this.up(at);
    else this.down(at);
  }

  delete(id: string): boolean {
    const at = this.positions.get(id);
    if (at === undefined) return false;
    const last = this.items.pop();
    this.positions.delete(id);
    if (last === undefined || at === this.items.length) return true;
    this.items[at] = last;
    this.positions.set(last.id, at);
    this.down(at);
    this.up(at);
    return true;
  }

  /** Removes and answers up to `limit` ids with `key <= max`, smallest key first. */
  popUpTo(max: number, limit: number): string[] {
    const ids: string[] = [];
    for (let top = this.items[0]; top && top.key <= max && ids.length < limit; top = this.items[0]) {
      this.delete(top.id);
      ids.push(top.id);
    }
    return ids;
  }

  /** Calls `visit` for every entry with `key <= max`, in no particular order. */
  forEachUpTo(max: number, visit: (id: string, key: number) => void): void {
    const stack = this.items.length > 0 ? [0] : [];
    while (stack.length > 0) {
      const at = stack.pop() ?? 0;
      const entry = this.items[at];
      if (entry === undefined || entry.key > max) continue;
      visit(entry.id, entry.key);
      stack.push(2 * at + 1, 2 * at + 2);
    }
  }

  private entry(at: number): Entry {
    const entry = this.items[at];
    if (entry === undefined) throw new Error(`heap index ${at} out of range`);
    return entry;
  }

  /** Equal keys come out by id, as members of a Redis sorted set do (the two stores agree on order). */
  private less(a: Entry, b: Entry): boolean {
    return a.key < b.key || (a.key === b.key && a.id < b.id);
  }

  private swap(i: number, j: number): void {
    const a = this.entry(i);
    const b = this.entry(j);
    this.items[i] = b;
    this.items[j] = a;
    this.positions.set(b.id, i);
    this.positions.set(a.id, j);
  }

  private up(at: number): void {
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.less(this.entry(at), this.entry(parent))) return;
      this.swap(at, parent);
      at = parent;
    }
  }

  private down(at: number): void {
    const n = this.items.length;
    for (;;) {
      const left = 2 * at + 1;
      const right = left + 1;
      let smallest = at;
      if (left < n && this.less(this.entry(left), this.entry(smallest))) smallest = left;
      if (right < n && this.less(this.entry(right), this.entry(smallest))) smallest = right;
      if (smallest === at) return;
      this.swap(at, smallest);
      at = smallest;
    }
  }
}
