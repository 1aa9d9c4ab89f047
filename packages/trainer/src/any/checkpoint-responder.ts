/**
 * Answers the coordinator's checkpoint requests, one at a time: validates the request, takes the
 * job's current parameters (or the last snapshot when the compute holds none of that job), and
 * uploads them as an fp32 frame — or has the compute upload its own where it can (its worker).
 * Every answer, refusals included, is a `checkpoint` event.
 */
import { encodeFp32Frame, parseCheckpointRequest, type CheckpointRequest } from '@tabswarm/protocol';
import type { CoordinatorApi } from '../coordinator-api.ts';
import { errorText } from './errors.ts';
import type { ParameterSnapshot } from './types.ts';
import type { TrainerState } from './trainer-status.ts';

export interface CheckpointResponderOptions {
  readonly api: Pick<CoordinatorApi, 'uploadCheckpoint'>;
  /** This volunteer's node id once joined: the frame's sender. */
  readonly nodeId: () => string | null;
  readonly state: TrainerState;
  /** The compute's current parameters, or null (no compute, or it failed). */
  readonly current: () => Promise<ParameterSnapshot | null>;
  /** The parameters after the last shard (what a restart starts from), or null. */
  readonly last: () => ParameterSnapshot | null;
  /**
   * The compute encodes and uploads its own parameters, if it holds the job (true); otherwise
   * (false) the answer comes from `last`. Without it: `current`, encoded here.
   */
  readonly fromCompute?: (request: CheckpointRequest, senderId: string) => Promise<boolean>;
}

export class CheckpointResponder {
  readonly #options: CheckpointResponderOptions;
  #queue: Promise<void> = Promise.resolve();

  constructor(options: CheckpointResponderOptions) {
    this.#options = options;
  }

  /** The coordinator's checkpointRequest event (untrusted payload); answered after earlier ones. */
  requested(request: unknown): Promise<void> {
    const parsed = parseCheckpointRequest(request);
    if (parsed === null) {
      this.#options.state.emit({
        type: 'error',
        code: 'COORDINATOR_REFUSED',
        message: 'ignored a malformed checkpoint request',
      });
      return this.#queue;
    }
    this.#queue = this.#queue.then(() => this.#answer(parsed));
    return this.#queue;
  }

  async #answer(request: CheckpointRequest): Promise<void> {
    const { state } = this.#options;
    const report = (ok: boolean, message: string | null): void => {
      if (ok) state.set({ checkpointsUploaded: state.status.checkpointsUploaded + 1 });
      state.emit({ type: 'checkpoint', jobId: request.jobId, requestId: request.requestId, ok, message });
    };
    const nodeId = this.#options.nodeId();
    if (nodeId === null) return report(false, 'not joined');
    const { fromCompute } = this.#options;
    if (fromCompute !== undefined) {
      try {
        if (await fromCompute(request, nodeId)) return report(true, null);
      } catch (error) {
        return report(false, errorText(error));
      }
    }
    let snapshot = fromCompute === undefined ? await this.#options.current() : null;
    if (snapshot?.jobId !== request.jobId) {
      const last = this.#options.last();
      snapshot = last?.jobId === request.jobId ? last : null;
    }
    if (snapshot === null) return report(false, `this volunteer holds no parameters of job ${request.jobId}`);
    try {
      const frame = encodeFp32Frame({
        jobId: request.jobId,
        senderId: nodeId,
        round: 0,
        values: snapshot.values,
      });
      await this.#options.api.uploadCheckpoint(request, frame);
      report(true, null);
    } catch (error) {
      report(false, errorText(error));
    }
  }
}
