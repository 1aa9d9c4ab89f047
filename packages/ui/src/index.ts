/** @tabswarm/ui: what both pages share — the theme (./theme.css), small hooks, store helpers and components. */
export { createStore, type Store, type StoreOptions } from './any/store.ts';
export { formatElapsed } from './any/elapsed.ts';
export { useStoreState } from './page/use-store-state.ts';
export { useNow } from './page/use-now.ts';
export { Card } from './page/Card.tsx';
export { DataTable, type TableColumn } from './page/DataTable.tsx';
export { Select, type Choice } from './page/Select.tsx';
