/** React's view of a `Store`: the component re-renders when the store tells its listeners. */
import { useSyncExternalStore } from 'react';
import type { Store } from '../any/store.ts';

export function useStoreState<T extends object>(store: Store<T>): T {
  return useSyncExternalStore(store.subscribe, store.get);
}
