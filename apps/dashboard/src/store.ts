/** The dashboard's state: one immutable snapshot, replaced on change, read through useSyncExternalStore. */
import { useSyncExternalStore } from 'react';
import type { NodeInfo } from '@tabswarm/protocol';

export const CONNECTION_STATES = [
  'connecting',
  'connected',
  'reconnecting',
  'disconnected',
  'error',
] as const;
export type ConnectionState = (typeof CONNECTION_STATES)[number];

export interface DashboardState {
  readonly connection: ConnectionState;
  readonly connectionDetail: string | null;
  /** Every node the coordinator has told us about, by id. */
  readonly nodes: ReadonlyMap<string, NodeInfo>;
  /** Coordinator clock minus this browser's clock, so ages are measured on the coordinator's clock. */
  readonly clockOffsetMs: number;
}

export const INITIAL_STATE: DashboardState = {
  connection: 'disconnected',
  connectionDetail: null,
  nodes: new Map(),
  clockOffsetMs: 0,
};

/** Plain functions rather than methods, so they can be handed to React unbound. */
export interface Store<T> {
  readonly get: () => T;
  readonly update: (change: Partial<T> | ((state: T) => Partial<T>)) => void;
  readonly subscribe: (listener: () => void) => () => void;
}

export function createStore<T extends object>(initial: T): Store<T> {
  let state = initial;
  const listeners = new Set<() => void>();
  return {
    get: () => state,
    update: (change) => {
      const patch = typeof change === 'function' ? change(state) : change;
      state = { ...state, ...patch };
      for (const listener of [...listeners]) listener();
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export type DashboardStore = Store<DashboardState>;

export function useStoreState<T extends object>(store: Store<T>): T {
  return useSyncExternalStore(store.subscribe, store.get);
}
