/** The store on PostgreSQL: what differs from SQLite is translated, and nothing else changes. */
import { describe, expect, it } from 'vitest';
import { capabilities, tempDir } from '../test-support.ts';
import { Membership } from '../membership.ts';
import { openStore } from './store.ts';
import { freshTestSchema, testStoreUrl } from './test-store.ts';
import { checkDepartedNodes } from './departed-nodes.fixture.ts';

describe.skipIf(testStoreUrl() === undefined)('store on PostgreSQL', () => {
  it('applies the migrations once, whichever coordinator opens it first', () => {
    const url = freshTestSchema();
    const first = openStore(tempDir(), { url });
    const second = openStore(tempDir(), { url });
    const versions = first.db.prepare('SELECT version FROM schema_migrations ORDER BY version').all();
    expect(versions.length).toBeGreaterThan(5);
    expect(second.db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get()).toEqual({
      n: versions.length,
    });
    expect(first.integrityCheck()).toBe('ok');
    first.close();
    second.close();
  });

  it('marks silent volunteers gone and forgets departed ones by age, then beyond a cap', () => {
    const store = openStore(tempDir(), { url: freshTestSchema() });
    checkDepartedNodes(store);
    store.close();
  });

  it('returns numbers as numbers: millisecond timestamps, counts and sums', () => {
    const store = openStore(tempDir(), { url: freshTestSchema() });
    const now = 1_765_000_000_123;
    const membership = new Membership(store, 5_000, () => now);
    const { node } = membership.join(capabilities);
    expect(store.getNode(node.id)).toMatchObject({ joinedAt: now, lastSeenAt: now, connected: true });
    expect(store.db.prepare('SELECT COUNT(*) AS n, SUM(joined_at) AS s FROM nodes').get()).toEqual({
      n: 1,
      s: now,
    });
    store.close();
  });

  it('rolls back a failed transaction and keeps what an inner savepoint did not undo', () => {
    const store = openStore(tempDir(), { url: freshTestSchema() });
    const db = store.db;
    db.exec('CREATE TABLE t (x INTEGER PRIMARY KEY)');
    const insert = db.prepare('INSERT INTO t (x) VALUES (?)');
    const count = (): unknown => (db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n;
    expect(() =>
      db.transaction(() => {
        insert.run(1);
        throw new Error('no');
      })(),
    ).toThrow('no');
    expect(count()).toBe(0);
    db.transaction(() => {
      insert.run(1);
      // A duplicate key fails in its savepoint; the transaction goes on.
      expect(() => db.transaction(() => insert.run(1))()).toThrow(/duplicate key/);
      insert.run(2);
    })();
    expect(count()).toBe(2);
    store.close();
  });
});
