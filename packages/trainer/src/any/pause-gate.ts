/**
 * Pausing by reason ('hidden', 'user', …): paused while any reason holds. Waiters are woken on
 * resume, and on demand (stop, a failed compute) so that no wait outlives what it waits for.
 */
export class PauseGate {
  readonly #reasons = new Set<string>();
  #waiting: (() => void)[] = [];

  get paused(): boolean {
    return this.#reasons.size > 0;
  }

  /** Sets one reason; returns whether the paused state changed. Resuming wakes the waiters. */
  set(reason: string, paused: boolean): boolean {
    const before = this.paused;
    if (paused) this.#reasons.add(reason);
    else this.#reasons.delete(reason);
    if (this.paused === before) return false;
    if (!this.paused) this.wake();
    return true;
  }

  /** Resolves at the next resume or wake(), whichever comes first. */
  next(): Promise<void> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  wake(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resolve of waiting) resolve();
  }
}
