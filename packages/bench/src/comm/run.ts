/**
 * One run of part 6: a gossip job with one averaging setting on the bench's coordinator (its own
 * process), trained by virtual volunteers (the tab's trainer and averaging classes in Node, each
 * computing in its own worker thread, linked over an in-memory network) until the job completes
 * and its final checkpoint is evaluated. What it measures: the bytes the volunteers' links carried
 * per sample trained, and the final checkpoint's test accuracy.
 */
import { MemoryNetwork } from '@tabswarm/gossip';
import type { JobSpecInput } from '@tabswarm/protocol';
import { VirtualVolunteer } from '@tabswarm/virtual';
import type { BenchCoordinator } from '../training/coordinator.ts';
import type { CommSetting, CommWorkload } from './settings.ts';

export interface CommRun {
  readonly setting: string;
  readonly samples: number;
  readonly shards: number;
  /** Every byte the volunteers' links sent (frames, chunk headers, control), summed. */
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /** bytesSent over the volunteers, per 1,000 samples trained. */
  readonly bytesPerVolunteerPer1000Samples: number;
  /** Exchanges applied, over all volunteers (each exchange counts on both sides). */
  readonly exchangesApplied: number;
  readonly accuracy: number;
  readonly seconds: number;
}

/** A run that has not completed by then is stopped and reported as an error. */
const RUN_TIMEOUT_MS = 30 * 60_000;

export function commJob(workload: CommWorkload, setting: CommSetting): JobSpecInput {
  return {
    name: `bench comm: ${setting.name}`,
    model: { kind: 'preset', preset: workload.preset },
    dataset: 'mnist',
    training: {
      optimizer: { type: 'adam' },
      learningRate: 0.003,
      batchSize: 64,
      localSteps: workload.localSteps,
      epochs: workload.epochs,
      seed: 1,
    },
    averaging: { mode: 'gossip', exchangeTimeoutMs: 10_000, ...setting.averaging },
    // One checkpoint, at the end (always taken): uploads are the same for every setting.
    checkpoint: { everyShards: 1_000_000, contributors: Math.min(3, workload.volunteers) },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runComm(
  coordinator: BenchCoordinator,
  workload: CommWorkload,
  setting: CommSetting,
  log: (line: string) => void,
): Promise<CommRun> {
  const started = Date.now();
  const job = await coordinator.createJob(commJob(workload, setting));
  const network = new MemoryNetwork();
  const volunteers = Array.from(
    { length: workload.volunteers },
    (_, i) =>
      new VirtualVolunteer({ baseUrl: coordinator.url, network, backend: 'wasm', label: `comm-${i}` }),
  );
  try {
    await Promise.all(volunteers.map((v) => v.start()));
    let lastLog = Date.now();
    for (;;) {
      const info = await coordinator.job(job.id);
      const last = info.latestCheckpoint;
      if (info.status === 'failed' || info.status === 'cancelled')
        throw new Error(`the job of "${setting.name}" ended ${info.status}`);
      if (
        info.status === 'completed' &&
        last !== null &&
        last.shardsDone >= info.totalShards &&
        typeof last.accuracy === 'number'
      ) {
        const states = volunteers.map((v) => v.state());
        const bytesSent = states.reduce((sum, s) => sum + s.bytesSent, 0);
        const bytesReceived = states.reduce((sum, s) => sum + s.bytesReceived, 0);
        return {
          setting: setting.name,
          samples: info.samplesDone,
          shards: info.shardsDone,
          bytesSent,
          bytesReceived,
          bytesPerVolunteerPer1000Samples: info.samplesDone > 0 ? (1000 * bytesSent) / info.samplesDone : 0,
          exchangesApplied: states.reduce((sum, s) => sum + s.exchangesApplied, 0),
          accuracy: last.accuracy,
          seconds: (Date.now() - started) / 1000,
        };
      }
      if (Date.now() - started > RUN_TIMEOUT_MS)
        throw new Error(`"${setting.name}" did not complete in ${RUN_TIMEOUT_MS / 60_000} minutes`);
      if (Date.now() - lastLog > 15_000) {
        lastLog = Date.now();
        log(`  ${setting.name}: ${info.shardsDone}/${info.totalShards} shards, ${info.status}`);
      }
      await sleep(500);
    }
  } finally {
    await Promise.allSettled(volunteers.map((v) => v.stop()));
  }
}
