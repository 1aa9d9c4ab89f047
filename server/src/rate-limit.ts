/**
 * Rate limits on what untrusted clients start: socket.io connections and HTTP writes per IP, and
 * socket events per session (one volunteer's connection). Token buckets keyed by client, with a
 * bounded number of keys so that a flood of distinct addresses cannot grow the coordinator's
 * memory: the least recently used key is forgotten first (it comes back with a full bucket).
 *
 * Behind a reverse proxy every client has the proxy's address: raise or turn off the per-IP
 * limits there (README, "Rate limits").
 */
import { z } from 'zod';

export interface Rate {
  /** Tokens added per second: the sustained rate. */
  readonly perSecond: number;
  /** Bucket size: how many may come at once after a quiet spell. */
  readonly burst: number;
}

export interface RateLimits {
  /** socket.io connections (volunteer and dashboard namespaces) per client address. */
  readonly connectsPerIp: Rate;
  /** Socket events per session (join, heartbeat, leases, reports…), relay messages aside. */
  readonly eventsPerSession: Rate;
  /** Relay messages per session (bytes are limited by the relay's own budget, relay.ts). */
  readonly relayMessagesPerSession: Rate;
  /** HTTP POST/PUT/PATCH/DELETE requests (uploads, operator writes) per client address. */
  readonly httpWritesPerIp: Rate;
}

/**
 * Generous for people, tight for floods: a volunteer sends a few events per shard and a heartbeat
 * every 2 s; 200 virtual volunteers behind one address join within the connect burst.
 */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  connectsPerIp: { perSecond: 20, burst: 500 },
  eventsPerSession: { perSecond: 50, burst: 200 },
  relayMessagesPerSession: { perSecond: 500, burst: 2_000 },
  httpWritesPerIp: { perSecond: 50, burst: 500 },
};

/**
 * `--rate-limits` for a swarm simulated on one machine: every volunteer connects from the same
 * address, so the per-address limits (made for the public) would throttle its joins; the
 * per-session limits stay.
 */
export const ONE_ADDRESS_RATE_LIMITS = JSON.stringify({
  connectsPerIp: { perSecond: 1e6, burst: 1e7 },
  httpWritesPerIp: { perSecond: 1e6, burst: 1e7 },
});

/** Keys a limiter remembers at most (each a few dozen bytes). */
export const MAX_LIMITER_KEYS = 50_000;

interface Bucket {
  tokens: number;
  at: number;
}

export class KeyedRateLimiter {
  readonly #rate: Rate;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(rate: Rate, options: { maxKeys?: number; now?: () => number } = {}) {
    if (!(rate.perSecond > 0) || !(rate.burst >= 1))
      throw new RangeError('a rate needs perSecond > 0 and burst ≥ 1');
    this.#rate = rate;
    this.#maxKeys = options.maxKeys ?? MAX_LIMITER_KEYS;
    this.#now = options.now ?? Date.now;
  }

  /** Takes one token for `key`: 0 when allowed, else the milliseconds until one is available. */
  take(key: string): number {
    const now = this.#now();
    const bucket = this.#buckets.get(key);
    let tokens = this.#rate.burst;
    if (bucket !== undefined) {
      this.#buckets.delete(key); // re-inserted below: the Map's order is least recently used first
      tokens = Math.min(this.#rate.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate.perSecond);
    }
    const allowed = tokens >= 1;
    this.#buckets.set(key, { tokens: allowed ? tokens - 1 : tokens, at: now });
    while (this.#buckets.size > this.#maxKeys) {
      const oldest = this.#buckets.keys().next().value as string;
      this.#buckets.delete(oldest);
    }
    return allowed ? 0 : Math.ceil(((1 - tokens) / this.#rate.perSecond) * 1000);
  }

  forget(key: string): void {
    this.#buckets.delete(key);
  }

  get size(): number {
    return this.#buckets.size;
  }
}

const rateSchema = z.strictObject({
  perSecond: z.number().positive().max(1e6),
  burst: z.number().int().min(1).max(1e7),
});
const limitsSchema = z.strictObject({
  connectsPerIp: rateSchema.optional(),
  eventsPerSession: rateSchema.optional(),
  relayMessagesPerSession: rateSchema.optional(),
  httpWritesPerIp: rateSchema.optional(),
});

/**
 * `--rate-limits`: "off", "default", or a JSON object whose limits replace the defaults', e.g.
 * `{"connectsPerIp":{"perSecond":5,"burst":100}}`.
 */
export function parseRateLimits(
  raw: string,
): { ok: true; limits: RateLimits | null } | { ok: false; message: string } {
  const text = raw.trim();
  if (text === 'off') return { ok: true, limits: null };
  if (text === 'default' || text === 'on') return { ok: true, limits: DEFAULT_RATE_LIMITS };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, message: 'must be "off", "default" or a JSON object' };
  }
  const parsed = limitsSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') ?? '';
    return { ok: false, message: `${where === '' ? '' : `${where}: `}${issue?.message ?? 'invalid'}` };
  }
  const given = parsed.data;
  const pick = (key: keyof RateLimits): Rate => given[key] ?? DEFAULT_RATE_LIMITS[key];
  return {
    ok: true,
    limits: {
      connectsPerIp: pick('connectsPerIp'),
      eventsPerSession: pick('eventsPerSession'),
      relayMessagesPerSession: pick('relayMessagesPerSession'),
      httpWritesPerIp: pick('httpWritesPerIp'),
    },
  };
}
