/**
 * A tiny external store: one immutable snapshot, replaced on change, with listeners told at once
 * or at most every `notifyEveryMs`. Pure (no React); pages read it with `useStoreState`.
 */

/** Plain functions rather than methods, so they can be handed to React unbound. */
export interface Store<T> {
  readonly get: () => T;
  readonly update: (change: Partial<T> | ((state: T) => Partial<T>)) => void;
  readonly subscribe: (listener: () => void) => () => void;
}

export interface StoreOptions {
  /**
   * Tell listeners at most this often: the first change at once, a burst folded into one more
   * notification at the end of the interval. The state itself changes at once either way. A busy
   * swarm sends the dashboard hundreds of updates a second; React need not render each one.
   */
  readonly notifyEveryMs?: number;
  readonly now?: () => number;
}

export function createStore<T extends object>(initial: T, options: StoreOptions = {}): Store<T> {
  let state = initial;
  const listeners = new Set<() => void>();
  const every = options.notifyEveryMs ?? 0;
  const now = options.now ?? (() => Date.now());
  let lastNotified = -Infinity;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const notify = (): void => {
    timer = null;
    lastNotified = now();
    for (const listener of [...listeners]) listener();
  };
  return {
    get: () => state,
    update: (change) => {
      const patch = typeof change === 'function' ? change(state) : change;
      state = { ...state, ...patch };
      if (every <= 0) {
        notify();
        return;
      }
      if (timer !== null) return;
      const wait = lastNotified + every - now();
      if (wait <= 0) notify();
      else timer = setTimeout(notify, wait);
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
