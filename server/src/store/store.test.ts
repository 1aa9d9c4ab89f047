import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import BetterSqlite3 from 'better-sqlite3';
import { openSqliteDatabase } from './sql-database.ts';
import { checkDepartedNodes } from './departed-nodes.fixture.ts';
import { loadMigrations, migrate } from './migrations.ts';
import { openStore } from './store.ts';
import { Membership } from '../membership.ts';
import { capabilities, tempDir } from '../test-support.ts';

describe('store', () => {
  it('opens in WAL mode, applies migrations once, and passes the integrity check', () => {
    const dir = tempDir();
    const store = openStore(dir);
    expect(store.integrityCheck()).toBe('ok');
    store.close();
    const raw = new BetterSqlite3(path.join(dir, 'tabswarm.sqlite'));
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    const db = openSqliteDatabase(path.join(dir, 'tabswarm.sqlite'));
    expect(migrate(db, loadMigrations())).toEqual([]);
    db.close();
  });

  it('applies a new migration file on the next start, in order', () => {
    const dir = tempDir();
    const migrations = path.join(dir, 'migrations');
    fs.mkdirSync(migrations);
    fs.writeFileSync(path.join(migrations, '001_a.sql'), 'CREATE TABLE a (x INTEGER);');
    const db = openSqliteDatabase(':memory:');
    expect(migrate(db, loadMigrations(migrations))).toEqual([1]);
    fs.writeFileSync(path.join(migrations, '002_b.sql'), 'INSERT INTO a VALUES (2);');
    expect(migrate(db, loadMigrations(migrations))).toEqual([2]);
    expect(db.prepare('SELECT x FROM a').get()).toEqual({ x: 2 });
  });

  it('rolls back a failing migration entirely', () => {
    const dir = tempDir();
    fs.writeFileSync(
      path.join(dir, '001_bad.sql'),
      'CREATE TABLE t (x INTEGER); INSERT INTO nope VALUES (1);',
    );
    const db = openSqliteDatabase(':memory:');
    expect(() => migrate(db, loadMigrations(dir))).toThrow();
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 't'").get()).toBeUndefined();
  });

  it('marks silent volunteers gone and forgets departed ones by age, then beyond a cap', () => {
    const store = openStore(tempDir());
    checkDepartedNodes(store);
    store.close();
  });

  it('keeps volunteers across a restart, disconnected until they resume', () => {
    const dir = tempDir();
    let now = 1_000;
    const first = openStore(dir);
    const membership = new Membership(first, 5_000, () => now);
    const { node, secret } = membership.join(capabilities);
    first.close();

    const second = openStore(dir);
    const restarted = new Membership(second, 5_000, () => now);
    expect(restarted.get(node.id)).toMatchObject({ status: 'active', connected: false });
    expect(restarted.join(capabilities, { nodeId: node.id, secret }).resumed).toBe(true);
    now += 10_000;
    expect(restarted.sweep().map((n) => n.id)).toEqual([node.id]);
    second.close();
  });
});
