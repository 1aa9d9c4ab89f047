/**
 * What an averager counts and tells: per-outcome exchange counts, bytes and the last distance,
 * and the exchange report sent to the coordinator for its consensus series and link table.
 */
import type { ExchangeOutcome, ExchangeReport, GossipCodecName } from '@tabswarm/protocol';
import type { AveragerStats, ExchangeResult } from './averager-types.ts';

export class ExchangeTally {
  #bytesOut = 0;
  #bytesIn = 0;
  #lastDistance: number | null = null;
  readonly #exchanges: Partial<Record<ExchangeOutcome, number>> = {};

  record(result: ExchangeResult): void {
    if (result.outcome === 'alone') return;
    this.#exchanges[result.outcome] = (this.#exchanges[result.outcome] ?? 0) + 1;
    this.#bytesOut += result.bytesOut;
    this.#bytesIn += result.bytesIn;
    if (result.outcome === 'ok' && result.distance !== null) this.#lastDistance = result.distance;
  }

  snapshot(round: number): AveragerStats {
    return {
      round,
      exchanges: { ...this.#exchanges },
      bytesOut: this.#bytesOut,
      bytesIn: this.#bytesIn,
      lastDistance: this.#lastDistance,
    };
  }
}

/** The report of one exchange with a partner (not of an 'alone' round). */
export function exchangeReport(
  jobId: string,
  codec: GossipCodecName,
  result: ExchangeResult & { readonly partner: string; readonly outcome: ExchangeOutcome },
): ExchangeReport {
  return {
    jobId,
    partner: result.partner,
    exchangeId: result.exchangeId,
    role: result.role,
    round: result.round,
    codec,
    outcome: result.outcome,
    reason: result.reason?.slice(0, 256) ?? null,
    distance: result.distance,
    bytesOut: result.bytesOut,
    bytesIn: result.bytesIn,
    durationMs: result.durationMs,
    link: result.link,
  };
}

/** The result of a round without an exchange (nobody to ask, busy, closed). */
export function emptyResult(
  round: number,
  outcome: ExchangeOutcome | 'alone',
  reason: string | null,
): ExchangeResult {
  return {
    exchangeId: 0,
    partner: null,
    role: 'initiator',
    round,
    outcome,
    reason,
    distance: null,
    bytesOut: 0,
    bytesIn: 0,
    durationMs: 0,
    link: null,
  };
}
