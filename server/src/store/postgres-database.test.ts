import { describe, expect, it } from 'vitest';
import {
  openPostgresDatabase,
  PostgresError,
  redactUrl,
  translateDdl,
  translateParameters,
} from './postgres-database.ts';

describe('SQL for PostgreSQL', () => {
  it('numbers positional parameters', () => {
    expect(translateParameters('SELECT * FROM t WHERE a = ? AND b = ?')).toEqual({
      text: 'SELECT * FROM t WHERE a = $1 AND b = $2',
      count: 2,
      names: [],
    });
  });

  it('binds a repeated name to one parameter, in order of first use', () => {
    expect(translateParameters('UPDATE t SET a = @now, b = @id WHERE c < @now')).toEqual({
      text: 'UPDATE t SET a = $1, b = $2 WHERE c < $1',
      count: 2,
      names: ['now', 'id'],
    });
  });

  it('leaves string literals, quoted identifiers and comments alone', () => {
    const sql = `SELECT '?' AS "a@b", x -- where y = ?\nFROM t WHERE z = @z AND w = 'it''s @w'`;
    expect(translateParameters(sql)).toEqual({
      text: `SELECT '?' AS "a@b", x -- where y = ?\nFROM t WHERE z = $1 AND w = 'it''s @w'`,
      count: 1,
      names: ['z'],
    });
  });

  it('refuses a statement mixing ? and @name', () => {
    expect(() => translateParameters('SELECT ? , @a')).toThrow(/either \? or @name/);
  });

  it("spells the migrations' types as PostgreSQL does", () => {
    expect(translateDdl('CREATE TABLE t (a INTEGER NOT NULL, b REAL, c TEXT) STRICT;')).toBe(
      'CREATE TABLE t (a BIGINT NOT NULL, b DOUBLE PRECISION, c TEXT);',
    );
  });

  it('hides the password in messages', () => {
    expect(redactUrl('postgres://app:s3cret@db:5432/x')).toBe('postgres://app:***@db:5432/x');
    expect(redactUrl('postgres://app@db/x')).toBe('postgres://app@db/x');
  });

  it('says which server it could not reach, without the password', () => {
    let error: unknown;
    try {
      openPostgresDatabase('postgres://app:s3cret@127.0.0.1:1/tabswarm?connect_timeout=2');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PostgresError);
    expect((error as Error).message).toMatch(
      /^cannot connect to PostgreSQL at postgres:\/\/app:\*\*\*@127\.0\.0\.1:1/,
    );
    expect((error as Error).message).not.toContain('s3cret');
  });
});
