/**
 * Telling the coordinator how a lease ended: a completion is resent while the coordinator is
 * unreachable (completions are idempotent by lease id); a release is sent once, with a deadline,
 * since an unanswered lease expires on its own.
 */
import type { LeaseCompletion } from '@tabswarm/protocol';
import { TrainerError, asTrainerError, errorText } from './errors.ts';
import type { LeaseCoordinator, Sleep } from './trainer-ports.ts';
import type { ActiveLease, TrainerState } from './trainer-status.ts';

const DEFAULT_COMPLETION_DELAYS_MS = [0, 500, 1_000, 2_000, 4_000, 8_000, 15_000] as const;
const RELEASE_TIMEOUT_MS = 5_000;

export interface LeaseReportsOptions {
  readonly coordinator: LeaseCoordinator;
  readonly state: TrainerState;
  readonly sleep: Sleep;
  /** Waits before each attempt to report a completion. */
  readonly completionDelaysMs?: readonly number[];
}

export class LeaseReports {
  readonly #options: LeaseReportsOptions;

  constructor(options: LeaseReportsOptions) {
    this.#options = options;
  }

  /** Reports a shard done; an error event (and counted: false) when it never got through. */
  async complete(completion: LeaseCompletion): Promise<{ counted: boolean; duplicate: boolean }> {
    const delays = this.#options.completionDelaysMs ?? DEFAULT_COMPLETION_DELAYS_MS;
    let last: TrainerError = new TrainerError('COORDINATOR_UNAVAILABLE', 'not sent');
    for (const delay of delays) {
      if (delay > 0) await this.#options.sleep(delay);
      try {
        return await this.#options.coordinator.completeLease(completion);
      } catch (error) {
        last = asTrainerError(error, 'COORDINATOR_UNAVAILABLE');
        // Resend while the coordinator is unreachable, not when it said no.
        if (last.code !== 'COORDINATOR_UNAVAILABLE') break;
      }
    }
    this.#options.state.emit({
      type: 'error',
      code: last.code,
      message: `lease ${completion.leaseId} not reported: ${last.message}`,
    });
    return { counted: false, duplicate: false };
  }

  /**
   * Gives a lease back (once: a settled lease is left alone). `cannotRun`: this volunteer cannot run
   * the lease's job at all, and the coordinator is to offer it the job no more.
   */
  async release(lease: ActiveLease, reason: string, cannotRun = false): Promise<void> {
    if (lease.settled) return;
    lease.settled = true;
    const { state } = this.#options;
    const detail = reason.slice(0, 500);
    state.set({ releasedLeases: state.status.releasedLeases + 1 });
    state.emit({ type: 'shard-released', lease: lease.grant, reason: detail });
    try {
      await Promise.race([
        this.#options.coordinator.releaseLease({
          leaseId: lease.grant.leaseId,
          reason: detail,
          ...(cannotRun && { cannotRun: true }),
        }),
        this.#options
          .sleep(RELEASE_TIMEOUT_MS)
          .then(() => Promise.reject(new TrainerError('COORDINATOR_UNAVAILABLE', 'timed out'))),
      ]);
    } catch (error) {
      // The lease expires on its own; a disconnect releases it too.
      state.emit({
        type: 'error',
        code: asTrainerError(error).code,
        message: `release: ${errorText(error)}`,
      });
    }
  }
}
