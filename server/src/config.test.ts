import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_CONFIG, resolveConfig } from './config.ts';

describe('config', () => {
  it('defaults to port 8080 and ./data', () => {
    const config = resolveConfig([], {});
    expect(config.port).toBe(8080);
    expect(config.dataDir).toBe(DEFAULT_CONFIG.dataDir);
  });

  it('reads PORT and TABSWARM_DATA_DIR, and flags win over them', () => {
    const env = { PORT: '9000', TABSWARM_DATA_DIR: '/tmp/from-env' };
    expect(resolveConfig([], env)).toMatchObject({ port: 9000, dataDir: '/tmp/from-env' });
    expect(resolveConfig(['--port', '9100', '--data-dir=/tmp/from-flag'], env)).toMatchObject({
      port: 9100,
      dataDir: '/tmp/from-flag',
    });
  });

  it('explains bad values', () => {
    expect(() => resolveConfig(['--port', 'eighty'], {})).toThrow(/port must be an integer/);
    expect(() => resolveConfig(['--bogus', '1'], {})).toThrow(ConfigError);
    expect(() => resolveConfig(['--port'], {})).toThrow(/needs a value/);
    expect(() => resolveConfig([], { TABSWARM_ICE_SERVERS: '{' })).toThrow(/JSON array/);
    expect(() =>
      resolveConfig(['--heartbeat-interval-ms', '5000', '--heartbeat-timeout-ms', '4000'], {}),
    ).toThrow(/longer than/);
  });

  it('keeps jobs in SQLite unless --store names a PostgreSQL server', () => {
    expect(resolveConfig([], {}).storeUrl).toBeUndefined();
    expect(resolveConfig(['--store', 'sqlite'], {}).storeUrl).toBeUndefined();
    const url = 'postgres://tabswarm:secret@db.internal:5432/tabswarm';
    expect(resolveConfig([], { TABSWARM_STORE: url }).storeUrl).toBe(url);
    expect(resolveConfig(['--store', 'postgresql://127.0.0.1/x'], {}).storeUrl).toBe(
      'postgresql://127.0.0.1/x',
    );
    expect(() => resolveConfig(['--store', 'mysql://db/x'], {})).toThrow(/mysql is not supported/);
    expect(() => resolveConfig(['--store', 'data.sqlite'], {})).toThrow(/"sqlite" or a postgres:\/\/ URL/);
    expect(() => resolveConfig(['--store', 'postgres:///x'], {})).toThrow(/needs a host/);
  });

  it("passes socket.io events between coordinators through the store's server unless told otherwise", () => {
    const store = 'postgres://tabswarm@db:5432/tabswarm';
    expect(resolveConfig([], {}).adapterUrl).toBeUndefined();
    expect(resolveConfig(['--store', store], {}).adapterUrl).toBe(store);
    expect(resolveConfig(['--store', store, '--adapter', 'none'], {}).adapterUrl).toBeUndefined();
    expect(resolveConfig(['--store', store, '--adapter', 'postgres://bus:5432/x'], {}).adapterUrl).toBe(
      'postgres://bus:5432/x',
    );
    expect(() => resolveConfig(['--adapter', 'postgres'], {})).toThrow(/give --store a postgres:\/\/ URL/);
    expect(() => resolveConfig(['--store', store, '--adapter', 'redis://r:6379'], {})).toThrow(
      /adapter must be "none", "postgres" or a postgres:\/\/ URL; redis is not supported/,
    );
  });

  it('parses ICE servers', () => {
    const ice = '[{"urls":"stun:stun.example.org:3478"}]';
    expect(resolveConfig(['--ice-servers', ice], {}).iceServers).toEqual([
      { urls: 'stun:stun.example.org:3478' },
    ]);
  });
});
