/** A check of the store's departed-node queries, run on SQLite (store.test.ts) and PostgreSQL. */
import { expect } from 'vitest';
import type { Store, StoredNode } from './store.ts';
import { capabilities } from '../test-support.ts';

const node = (id: string, status: 'active' | 'gone', lastSeenAt: number): StoredNode => ({
  id,
  secretHash: '0'.repeat(64),
  status,
  state: 'idle',
  capabilities,
  selfTest: null,
  health: null,
  joinedAt: 0,
  lastSeenAt,
  connected: status === 'active',
});

export function checkDepartedNodes(store: Store): void {
  for (const [id, status, seen] of [
    ['live', 'active', 1_000],
    ['silent', 'active', 100],
    ['gone-old', 'gone', 50],
    ['gone-1', 'gone', 500],
    ['gone-2', 'gone', 600],
    ['gone-3', 'gone', 700],
  ] as const)
    store.saveNode(node(id, status, seen));
  // Active nodes last seen before the cutoff are marked gone, once.
  expect(store.markSilentGone(200)).toEqual(['silent']);
  expect(store.markSilentGone(200)).toEqual([]);
  expect(store.getNode('silent')).toMatchObject({ status: 'gone', connected: false });
  // Departed before the cutoff go; then the longest silent beyond the cap (2 kept).
  expect(store.pruneDeparted(80, 2).sort()).toEqual(['gone-1', 'gone-old', 'silent']);
  expect(
    store
      .listNodes()
      .map((n) => n.id)
      .sort(),
  ).toEqual(['gone-2', 'gone-3', 'live']);
}
