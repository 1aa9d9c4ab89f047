/**
 * A fixed-capacity ring of numeric rows stored column by column (Float64Array per column): the
 * newest `capacity` rows are kept. Each column is stored twice over, back to back, so the live
 * window is always one contiguous range and a column snapshot is a single copy, whatever the
 * ring's position — what a uPlot series wants, once per animation frame.
 */
export class ColumnRing<K extends string> {
  readonly capacity: number;
  readonly names: readonly K[];
  readonly #columns: ReadonlyMap<K, Float64Array>;
  #start = 0;
  #length = 0;
  #pushed = 0;

  constructor(names: readonly K[], capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer');
    if (new Set(names).size !== names.length) throw new RangeError('column names must be distinct');
    this.capacity = capacity;
    this.names = [...names];
    this.#columns = new Map(names.map((name) => [name, new Float64Array(capacity * 2)]));
  }

  /** Rows held now (at most `capacity`). */
  get length(): number {
    return this.#length;
  }

  /** Rows pushed since creation or the last clear, including those that fell out. */
  get pushed(): number {
    return this.#pushed;
  }

  push(row: Readonly<Record<K, number>>): void {
    const cap = this.capacity;
    let slot: number;
    if (this.#length < cap) {
      slot = (this.#start + this.#length) % cap;
      this.#length += 1;
    } else {
      slot = this.#start;
      this.#start = (this.#start + 1) % cap;
    }
    for (const [name, column] of this.#columns) {
      const value = row[name];
      column[slot] = value;
      column[slot + cap] = value;
    }
    this.#pushed += 1;
  }

  /** A copy of one column, oldest row first. */
  column(name: K): Float64Array {
    return this.#column(name).slice(this.#start, this.#start + this.#length);
  }

  /** The value in row `index` (0 is the oldest), or undefined outside the window. */
  at(name: K, index: number): number | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.#length) return undefined;
    return this.#column(name)[this.#start + index];
  }

  last(name: K): number | undefined {
    return this.at(name, this.#length - 1);
  }

  clear(): void {
    this.#start = 0;
    this.#length = 0;
    this.#pushed = 0;
  }

  #column(name: K): Float64Array {
    const column = this.#columns.get(name);
    if (column === undefined) throw new RangeError(`no column ${name}`);
    return column;
  }
}
