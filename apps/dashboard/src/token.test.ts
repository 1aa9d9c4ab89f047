import { describe, expect, it } from 'vitest';
import { canWrite, createTokenStore, TOKEN_STORAGE_KEY, type TokenStorage } from './token.ts';

function memoryStorage(initial: Record<string, string> = {}): TokenStorage & { data: Map<string, string> } {
  const data = new Map(Object.entries(initial));
  return {
    data,
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, v),
    removeItem: (k) => void data.delete(k),
  };
}

describe('operator token', () => {
  it('starts read-only, and keeps an entered token for the session', () => {
    const storage = memoryStorage();
    const tokens = createTokenStore(storage);
    expect(tokens.get()).toEqual({ token: null, status: 'none', message: null });
    expect(canWrite(tokens.get())).toBe(false);
    tokens.enter('  secret  ');
    expect(tokens.get()).toMatchObject({ token: 'secret', status: 'checking' });
    expect(canWrite(tokens.get())).toBe(false);
    tokens.accept('secret');
    expect(canWrite(tokens.get())).toBe(true);
    expect(storage.data.get(TOKEN_STORAGE_KEY)).toBe('secret');
    // A new page in the same session picks it up, unchecked until checked.
    expect(createTokenStore(storage).get()).toMatchObject({ token: 'secret', status: 'unchecked' });
  });

  it('drops a refused token and says why', () => {
    const storage = memoryStorage({ [TOKEN_STORAGE_KEY]: 'wrong' });
    const tokens = createTokenStore(storage);
    tokens.refuse('the operator token is wrong');
    expect(tokens.get()).toEqual({ token: null, status: 'refused', message: 'the operator token is wrong' });
    expect(storage.data.has(TOKEN_STORAGE_KEY)).toBe(false);
    expect(canWrite(tokens.get())).toBe(false);
  });

  it('ignores the answer for a token that has since been replaced', () => {
    const tokens = createTokenStore(memoryStorage());
    tokens.enter('first');
    tokens.enter('second');
    tokens.accept('first');
    expect(tokens.get().status).toBe('checking');
    tokens.unchecked('second', 'offline');
    expect(tokens.get()).toMatchObject({ token: 'second', status: 'unchecked', message: 'offline' });
    tokens.forget();
    expect(tokens.get().token).toBeNull();
  });

  it('works without storage', () => {
    const tokens = createTokenStore(null);
    tokens.enter('t');
    tokens.accept('t');
    expect(canWrite(tokens.get())).toBe(true);
  });
});
