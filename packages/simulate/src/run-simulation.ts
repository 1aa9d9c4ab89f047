/**
 * The simulation harness's entry point: starts (or joins) a coordinator, submits the job, starts
 * the browsers and virtual volunteers, injects the planned faults while the observer records,
 * and stops every browser and child process it started on any way out — completion, timeout,
 * failure or an abort (Ctrl-C) — returning the record so far.
 */
import {
  externalCoordinator,
  startCoordinatorProcess,
  type CoordinatorProcess,
} from './coordinator-process.ts';
import { BrowserSwarm } from './browser-swarm.ts';
import { mergeFigures, readCoordinatorFigures, type CoordinatorFigures } from './coordinator-figures.ts';
import { FaultExecutor } from './fault-executor.ts';
import { submitJob } from './job.ts';
import { Observer } from './observer.ts';
import type { SimulationPlan } from './plan.ts';
import type { SimulationOutcome, SimulationRecord, SimulationSummary } from './record.ts';
import { RecordBuilder } from './record-builder.ts';
import { Swarm } from './swarm.ts';
import { startFleet, type VirtualFleet } from './virtual-swarm.ts';
import { shardAccounting } from '../../virtual/src/shard-accounting.ts';

const POLL_MS = 1_500;

/** What the terminal progress line shows, once per observation. */
export interface ProgressInfo {
  /** Milliseconds since the simulation started. */
  readonly t: number;
  readonly phase: 'starting' | 'running' | 'stopping';
  /** Job progress 0–1. */
  readonly progress: number;
  readonly accuracy: number | null;
  readonly alive: { readonly browsers: number; readonly virtual: number };
  readonly faultsDone: number;
  readonly faultsPlanned: number;
  readonly jobStatus: string | null;
}

export interface SimulationHooks {
  onProgress?(line: ProgressInfo): void;
  /** Aborting stops everything and still returns the record so far (outcome 'interrupted'). */
  signal?: AbortSignal;
  /** Lines worth a person's attention (page errors, a fault that failed); stderr by default. */
  log?: (line: string) => void;
}

/** Every shard of the job as the stopped coordinator's store has it; null if it cannot be read. */
function readLedger(dataDir: string, jobId: string): SimulationSummary['ledger'] {
  try {
    const a = shardAccounting(dataDir, jobId);
    const shards = a.epochs * a.shardCount;
    return {
      shards,
      countedOnce: shards - a.lost - a.doubleCounted,
      uncounted: a.lost,
      countedTwice: a.doubleCounted,
    };
  } catch {
    return null;
  }
}

/** The coordinator's figures; null when its /metrics cannot be read (a coordinator at --url may hide it). */
async function coordinatorFigures(url: string, jobId: string): Promise<CoordinatorFigures | null> {
  try {
    return await readCoordinatorFigures(url, { jobId });
  } catch {
    return null;
  }
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export async function runSimulation(
  plan: SimulationPlan,
  hooks: SimulationHooks = {},
): Promise<SimulationRecord> {
  const record = new RecordBuilder();
  const log = hooks.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { signal } = hooks;
  let coordinator: CoordinatorProcess | null = null;
  let swarm: Swarm | null = null;
  let executor: FaultExecutor | null = null;
  let observer: Observer | null = null;
  /** Figures of the coordinator's earlier lifetimes (its counters start again after a restart). */
  const earlier: CoordinatorFigures[] = [];
  let jobId: string | null = null;
  let startingClock: ReturnType<typeof setInterval> | undefined;
  let outcome: SimulationOutcome = 'failed';
  let failure: string | null = null;
  const progress = (phase: ProgressInfo['phase']): void =>
    hooks.onProgress?.({
      t: record.t(),
      phase,
      progress: observer?.progress ?? 0,
      // The latest evaluated one (the newest checkpoint may still be under evaluation).
      accuracy: record.checkpoints.at(-1)?.accuracy ?? null,
      alive: swarm?.counts() ?? { browsers: 0, virtual: 0 },
      faultsDone: executor?.counts.done ?? 0,
      faultsPlanned: plan.faults.length,
      jobStatus: observer?.job?.status ?? null,
    });

  try {
    progress('starting');
    coordinator =
      plan.url === null ? await startCoordinatorProcess() : externalCoordinator(plan.url, plan.token);
    record.coordinator = { url: coordinator.url, startedHere: coordinator.startedHere };
    const job = await submitJob(
      coordinator.operator,
      plan.job,
      `simulate ${new Date(record.startedMs).toISOString()}`,
    );
    jobId = job.id;
    record.job = { id: job.id, name: job.name, mode: job.spec.averaging.mode, spec: job.spec };
    // A job submitted here waits, paused, until the whole swarm is up: otherwise the first
    // volunteers train while the others start (a thousand take a minute or more), and faults
    // meant for 30 % of the job land when it is long past. A job already running is left alone.
    const held = plan.job.kind !== 'existing' && job.status === 'queued';
    if (held) await coordinator.operator.jobAction(job.id, 'pause');
    // The progress line's clock goes on while the swarm starts.
    startingClock = setInterval(() => progress('starting'), POLL_MS);

    const browsers =
      plan.browsers > 0
        ? new BrowserSwarm({
            url: coordinator.url,
            mode: plan.contexts ? 'contexts' : 'processes',
            backend: plan.backend,
            log,
          })
        : null;
    record.browserMode = browsers === null ? 'none' : plan.contexts ? 'contexts' : 'processes';
    let fleet: VirtualFleet | null = null;
    swarm = new Swarm(browsers, null);
    if (plan.virtual > 0 && !signal?.aborted) {
      fleet = await startFleet({
        baseUrl: coordinator.url,
        count: plan.virtual,
        backend: plan.virtualBackend,
      });
      swarm = new Swarm(browsers, fleet);
      await swarm.refresh();
    }
    const joined = swarm;
    observer = new Observer(coordinator.operator, job.id, record, joined);
    const watching = observer;
    const started = coordinator;
    executor = new FaultExecutor({
      plan,
      swarm: joined,
      coordinator: {
        ...started,
        async restart() {
          const before = await coordinatorFigures(started.url, job.id);
          if (before !== null) earlier.push(before);
          await started.restart();
        },
      },
      record,
      progress: () => watching.progress,
    });
    if (browsers !== null && signal?.aborted !== true)
      await Promise.all(Array.from({ length: plan.browsers }, () => browsers.add()));
    clearInterval(startingClock);
    record.chromium = browsers?.version() ?? null;
    if (held) await coordinator.operator.jobAction(job.id, 'resume');
    await executor.startStragglers();

    const deadline = record.startedMs + plan.timeoutSeconds * 1000;
    for (;;) {
      if (signal?.aborted) {
        outcome = 'interrupted';
        break;
      }
      await observer.poll();
      executor.tick();
      progress('running');
      const status = observer.job?.status;
      if (status === 'completed') {
        outcome = 'completed';
        break;
      }
      if (status === 'failed' || status === 'cancelled') {
        outcome = 'failed';
        failure = `the job ${status}: ${observer.job?.statusReason ?? ''}`;
        break;
      }
      if (Date.now() > deadline) {
        outcome = 'timeout';
        break;
      }
      await sleep(POLL_MS, signal);
    }
  } catch (error) {
    outcome = signal?.aborted ? 'interrupted' : 'failed';
    failure = error instanceof Error ? error.message : String(error);
  } finally {
    clearInterval(startingClock);
    progress('stopping');
    await executor?.stop();
    // One last look, so the record ends with the state the run ended in.
    if (observer !== null && outcome !== 'interrupted') await observer.poll();
  }
  const last =
    coordinator === null || jobId === null ? null : await coordinatorFigures(coordinator.url, jobId);
  const lifetimes = last === null ? earlier : [...earlier, last];
  const figures = lifetimes.length === 0 ? null : lifetimes.reduce(mergeFigures);
  await swarm?.stop();
  await coordinator?.stop();
  if (failure !== null) log(`simulation ${outcome}: ${failure}`);
  const ledger =
    coordinator?.dataDir == null || jobId === null ? null : readLedger(coordinator.dataDir, jobId);

  const latest = record.checkpoints.at(-1);
  const summary: SimulationSummary = {
    outcome,
    finalAccuracy: latest?.accuracy ?? observer?.job?.latestCheckpoint?.accuracy ?? null,
    finalLoss: latest?.loss ?? observer?.job?.latestCheckpoint?.loss ?? null,
    wallSeconds: record.t() / 1000,
    samples: observer?.job?.samplesDone ?? 0,
    shardsReissued: figures?.shardsReissued ?? 0,
    duplicatesRejected: figures?.duplicatesRejected ?? 0,
    bytesPerVolunteer: observer?.bytesPerVolunteer() ?? 0,
    rejectedFrames: figures?.rejectedFrames ?? 0,
    leaseLatencyMs: figures?.leaseLatencyMs ?? { p50: null, p99: null },
    faultsDone: executor?.counts.done ?? 0,
    faultsPlanned: plan.faults.length,
    ledger,
  };
  return record.finish(process.argv.slice(2), { ...plan, failure }, summary);
}
