/**
 * The operator token: asked for once, kept in sessionStorage for this tab's session, checked
 * against the coordinator when entered, and marked refused when any write answers 401/403.
 * Without an accepted token the dashboard is read-only.
 */
import { createStore, type Store } from '@tabswarm/ui';

export const TOKEN_STORAGE_KEY = 'tabswarm.operatorToken';

export type TokenStatus =
  /** No token: read-only. */
  | 'none'
  /** Being checked with the coordinator. */
  | 'checking'
  | 'accepted'
  /** Kept from earlier in the session but not checked yet (or the check could not reach the server). */
  | 'unchecked'
  /** The coordinator said 401/403; the token was dropped. */
  | 'refused';

export interface TokenState {
  readonly token: string | null;
  readonly status: TokenStatus;
  /** Why a token was refused or could not be checked, for the person. */
  readonly message: string | null;
}

export type TokenStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export interface TokenStore extends Store<TokenState> {
  /** A token typed in: stored and marked 'checking'. */
  enter(token: string): void;
  accept(token: string): void;
  /** The check could not reach the coordinator: keep the token, unchecked. */
  unchecked(token: string, message: string): void;
  refuse(message: string): void;
  forget(): void;
}

/** True when writes may be attempted (a refused token is gone; a checking one is not yet known). */
export const canWrite = (state: TokenState): boolean =>
  state.token !== null && (state.status === 'accepted' || state.status === 'unchecked');

function safeStorage(storage: TokenStorage | null) {
  return {
    get: (): string | null => {
      try {
        return storage?.getItem(TOKEN_STORAGE_KEY) ?? null;
      } catch {
        return null;
      }
    },
    set: (token: string | null): void => {
      try {
        if (token === null) storage?.removeItem(TOKEN_STORAGE_KEY);
        else storage?.setItem(TOKEN_STORAGE_KEY, token);
      } catch {
        // Storage can be disabled; the token then lasts as long as the page.
      }
    },
  };
}

export function createTokenStore(storage: TokenStorage | null): TokenStore {
  const persisted = safeStorage(storage);
  const saved = persisted.get();
  const store = createStore<TokenState>({
    token: saved,
    status: saved === null ? 'none' : 'unchecked',
    message: null,
  });
  return {
    ...store,
    enter(token) {
      const trimmed = token.trim();
      persisted.set(trimmed);
      store.update({ token: trimmed, status: 'checking', message: null });
    },
    accept(token) {
      if (store.get().token !== token) return; // superseded by another entry
      store.update({ status: 'accepted', message: null });
    },
    unchecked(token, message) {
      if (store.get().token !== token) return;
      store.update({ status: 'unchecked', message });
    },
    refuse(message) {
      persisted.set(null);
      store.update({ token: null, status: 'refused', message });
    },
    forget() {
      persisted.set(null);
      store.update({ token: null, status: 'none', message: null });
    },
  };
}
