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
import { FaultExecutor } from './fault-executor.ts';
import { submitJob } from './job.ts';
import { Observer } from './observer.ts';
import type { SimulationPlan } from './plan.ts';
import type { SimulationOutcome, SimulationRecord, SimulationSummary } from './record.ts';
import { RecordBuilder } from './record-builder.ts';
import { Swarm } from './swarm.ts';
import { startFleet, type VirtualFleet } from './virtual-swarm.ts';

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

/** The coordinator figures of the summary (packages/simulate/src/coordinator-figures.ts). */
interface CoordinatorFigures {
  readonly leaseLatencyMs: { readonly p50: number | null; readonly p99: number | null };
  readonly shardsReissued: number;
  readonly duplicatesRejected: number;
  readonly rejectedFrames: number;
}

// TODO(figures): import { readCoordinatorFigures } from './coordinator-figures.ts' once it has
// landed; until then it is looked up at run time and the figures stay null/0 without it.
const FIGURES_MODULE = './coordinator-figures.ts';

async function coordinatorFigures(url: string): Promise<CoordinatorFigures | null> {
  try {
    const mod = (await import(FIGURES_MODULE)) as {
      readCoordinatorFigures?: (baseUrl: string) => Promise<CoordinatorFigures>;
    };
    return (await mod.readCoordinatorFigures?.(url)) ?? null;
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
  let outcome: SimulationOutcome = 'failed';
  let failure: string | null = null;
  const progress = (phase: ProgressInfo['phase']): void =>
    hooks.onProgress?.({
      t: record.t(),
      phase,
      progress: observer?.progress ?? 0,
      accuracy: observer?.job?.latestCheckpoint?.accuracy ?? null,
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
    record.job = { id: job.id, name: job.name, mode: job.spec.averaging.mode, spec: job.spec };

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
        seed: plan.seed,
      });
      swarm = new Swarm(browsers, fleet);
    }
    const joined = swarm;
    observer = new Observer(coordinator.operator, job.id, record, joined);
    const watching = observer;
    executor = new FaultExecutor({
      plan,
      swarm: joined,
      coordinator,
      record,
      progress: () => watching.progress,
    });
    if (browsers !== null && signal?.aborted !== true)
      await Promise.all(Array.from({ length: plan.browsers }, () => browsers.add()));
    record.chromium = browsers?.version() ?? null;
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
    progress('stopping');
    await executor?.stop();
    // One last look, so the record ends with the state the run ended in.
    if (observer !== null && outcome !== 'interrupted') await observer.poll();
  }
  const figures = coordinator === null ? null : await coordinatorFigures(coordinator.url);
  await swarm?.stop();
  await coordinator?.stop();
  if (failure !== null) log(`simulation ${outcome}: ${failure}`);

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
  };
  return record.finish(process.argv.slice(2), { ...plan, failure }, summary);
}
