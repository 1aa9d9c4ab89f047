/**
 * Leased shards over HTTP: from the cache when present, else downloaded with retries and
 * exponential backoff, decoded (untrusted bytes: tryDecodeShard) and cached. A shard that cannot be
 * had is a typed SHARD_UNAVAILABLE / SHARD_INVALID, which the lease loop answers with releaseLease.
 */
import { tryDecodeShard, type DecodedShard } from '@tabswarm/protocol';
import { TrainerError, errorText } from './errors.ts';
import { sleep } from './pacing.ts';
import type { ShardCache } from './shard-cache.ts';

export interface ShardSourceOptions {
  /** Origin the lease's relative sample URLs are resolved against. */
  readonly baseUrl: string;
  readonly cache?: ShardCache | null;
  readonly fetch?: typeof fetch;
  /** Download attempts before giving up (default 4). */
  readonly attempts?: number;
  /** First retry delay; doubles each time, with ±25 % jitter (default 500 ms). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** One download may take at most this long (default 60 s). */
  readonly timeoutMs?: number;
  /** Largest shard accepted (default 64 MiB, the coordinator's own cap). */
  readonly maxBytes?: number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface LoadedShard {
  readonly shard: DecodedShard;
  readonly fromCache: boolean;
  readonly attempts: number;
}

/** Statuses worth another try; any other 4xx is final. */
const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

export class ShardSource {
  readonly #options: ShardSourceOptions;
  readonly #fetch: typeof fetch;

  constructor(options: ShardSourceOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** Resolves a lease's samplesUrl; only same-origin URLs are accepted. */
  resolve(samplesUrl: string): string {
    const base = new URL(this.#options.baseUrl);
    const url = new URL(samplesUrl, base);
    if (url.origin !== base.origin) {
      throw new TrainerError(
        'SHARD_INVALID',
        `shard URL ${samplesUrl.slice(0, 200)} is not on the coordinator`,
      );
    }
    return url.href;
  }

  async load(samplesUrl: string, signal?: AbortSignal): Promise<LoadedShard> {
    const url = this.resolve(samplesUrl);
    const cache = this.#options.cache ?? null;
    if (cache !== null) {
      const cached = await cache.get(url).catch(() => null);
      if (cached !== null) {
        const decoded = tryDecodeShard(cached);
        if (decoded.ok) return { shard: decoded.shard, fromCache: true, attempts: 0 };
        await cache.delete(url).catch(() => undefined);
      }
    }
    const { bytes, attempts } = await this.#download(url, signal);
    const decoded = tryDecodeShard(bytes);
    if (!decoded.ok) throw new TrainerError('SHARD_INVALID', `shard does not decode: ${decoded.message}`);
    if (cache !== null) await cache.put(url, bytes).catch(() => undefined);
    return { shard: decoded.shard, fromCache: false, attempts };
  }

  async #download(url: string, signal?: AbortSignal): Promise<{ bytes: Uint8Array; attempts: number }> {
    const attempts = Math.max(1, this.#options.attempts ?? 4);
    const base = this.#options.baseDelayMs ?? 500;
    const max = this.#options.maxDelayMs ?? 8_000;
    const wait = this.#options.sleep ?? sleep;
    let last = 'no attempt';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (signal?.aborted) throw new TrainerError('CANCELLED', 'the shard download was cancelled');
      const outcome = await this.#attempt(url, signal);
      if (outcome.ok) return { bytes: outcome.bytes, attempts: attempt };
      last = outcome.message;
      if (!outcome.retry) break;
      if (attempt < attempts) {
        const delay = Math.min(max, base * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
        await wait(delay, signal);
      }
    }
    if (signal?.aborted) throw new TrainerError('CANCELLED', 'the shard download was cancelled');
    throw new TrainerError('SHARD_UNAVAILABLE', `shard download failed: ${last}`);
  }

  async #attempt(
    url: string,
    signal?: AbortSignal,
  ): Promise<{ ok: true; bytes: Uint8Array } | { ok: false; retry: boolean; message: string }> {
    const timeout = AbortSignal.timeout(this.#options.timeoutMs ?? 60_000);
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    try {
      const response = await this.#fetch(url, { signal: combined, cache: 'no-store' });
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        return {
          ok: false,
          retry: RETRYABLE_STATUS.has(response.status),
          message: `HTTP ${response.status} ${response.statusText}`.trim(),
        };
      }
      const limit = this.#options.maxBytes ?? 64 * 1024 * 1024;
      const declared = Number(response.headers.get('content-length') ?? NaN);
      if (Number.isFinite(declared) && declared > limit) {
        await response.body?.cancel().catch(() => undefined);
        return { ok: false, retry: false, message: `shard is ${declared} bytes, more than ${limit}` };
      }
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (bytes.length > limit)
        return { ok: false, retry: false, message: `shard is more than ${limit} bytes` };
      return { ok: true, bytes };
    } catch (error) {
      return { ok: false, retry: true, message: timeout.aborted ? 'timed out' : errorText(error) };
    }
  }
}
