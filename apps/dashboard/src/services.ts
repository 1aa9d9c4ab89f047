/** What every page needs, built once in main.tsx and handed down through React context. */
import { createContext, useContext } from 'react';
import { ApiError, type Api } from './api.ts';
import type { DashboardStore } from './store.ts';
import type { TokenStore } from './token.ts';

export interface Services {
  readonly store: DashboardStore;
  readonly tokens: TokenStore;
  readonly api: Api;
}

export const ServicesContext = createContext<Services | null>(null);

export function useServices(): Services {
  const services = useContext(ServicesContext);
  if (services === null) throw new Error('useServices outside <ServicesContext.Provider>');
  return services;
}

/** A write failed: a 401/403 drops the token (the dashboard turns read-only and says why). */
export function reportWriteError(tokens: TokenStore, error: unknown): string {
  if (error instanceof ApiError) {
    if (error.isAuth) {
      tokens.refuse(
        `The coordinator refused the operator token (${error.status} ${error.code}: ${error.message}).`,
      );
      return `Refused (${error.status}): ${error.message}. Enter the operator token again.`;
    }
    return `${error.code}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}
