/** The worker side of the page ↔ worker protocol: serves a ComputePort's calls over a message endpoint. */
import type { CheckpointRequest } from '@tabswarm/protocol';
import { TrainerError, asTrainerError } from '../any/errors.ts';
import type {
  ComputeFailure,
  ComputePort,
  FaultKind,
  JobDownload,
  JobFromSnapshot,
  JobLoad,
  ParameterSnapshot,
  ShardTask,
  StartOptions,
} from '../any/types.ts';
import {
  transferablesOf,
  type MessageEndpoint,
  type PageToWorker,
  type WorkerToPage,
} from '../any/worker-protocol.ts';

/** Errors are rare: waiting this long on one for the device's lost promise costs nothing. */
const FATAL_GRACE_MS = 500;

export function serveCompute(endpoint: MessageEndpoint, compute: ComputePort): void {
  const post = (message: WorkerToPage, transfer: Transferable[] = []): void =>
    endpoint.postMessage(message, transfer);
  let fatal: ComputeFailure | null = null;
  void compute.failed.then((failure) => {
    fatal = failure;
    post({ kind: 'fatal', code: failure.code, message: failure.message });
  });
  /**
   * A call that fails because the device is going away (e.g. "mapAsync: buffer was unmapped")
   * may fail before the device's lost promise settles: give it a moment, then report the cause.
   */
  const cause = async (error: unknown): Promise<TrainerError> => {
    await Promise.race([compute.failed, new Promise((resolve) => setTimeout(resolve, FATAL_GRACE_MS))]);
    const failure = fatal;
    return failure === null ? asTrainerError(error) : new TrainerError(failure.code, failure.message);
  };

  const call = (id: number, name: string, args: unknown): Promise<unknown> => {
    switch (name) {
      case 'start':
        return compute.start(args as StartOptions);
      case 'selfTest':
        return compute.selfTest();
      case 'loadJob':
        return compute.loadJob(args as JobLoad);
      case 'loadJobFromCoordinator':
        if (compute.loadJobFromCoordinator === undefined)
          return Promise.reject(new Error('this compute does not download jobs'));
        return compute.loadJobFromCoordinator(args as JobDownload, (progress) =>
          post({ kind: 'download', id, progress }),
        );
      case 'calibrate':
        return compute.calibrate(args as number);
      case 'train':
        return compute.train(args as ShardTask, (progress) => post({ kind: 'step', id, progress }));
      case 'parameters':
        return compute.parameters();
      case 'setParameters':
        return compute.setParameters(args as ParameterSnapshot).then(() => null);
      case 'saveSnapshot':
        return compute.saveSnapshot?.() ?? Promise.resolve(null);
      case 'loadJobFromSnapshot':
        return compute.loadJobFromSnapshot?.(args as JobFromSnapshot) ?? Promise.resolve(null);
      case 'uploadCheckpoint': {
        const { request, senderId } = args as { request: CheckpointRequest; senderId: string };
        return compute.uploadCheckpoint?.(request, senderId) ?? Promise.resolve(false);
      }
      case 'stats':
        return compute.stats();
      case 'fault':
        return compute.simulateFault(args as FaultKind);
      default:
        return Promise.reject(new Error(`unknown call ${name}`));
    }
  };

  endpoint.addEventListener('message', (event: MessageEvent) => {
    const message = event.data as PageToWorker;
    switch (message.kind) {
      case 'call':
        call(message.id, message.name, message.args).then(
          (value) => post({ kind: 'result', id: message.id, ok: true, value }, transferablesOf(value)),
          async (error: unknown) => {
            const e = await cause(error);
            post({ kind: 'result', id: message.id, ok: false, code: e.code, message: e.message });
          },
        );
        break;
      case 'cancel':
        compute.cancel(message.leaseId);
        break;
      case 'paused':
        compute.setPaused(message.paused);
        break;
      case 'dutyCycle':
        compute.setDutyCycle(message.dutyCycle);
        break;
    }
  });
}
