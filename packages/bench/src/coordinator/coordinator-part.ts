/**
 * Part 5, coordinator: how many volunteers one coordinator holds. The real coordinator (main.ts,
 * as `npm start` runs it, in its own process) gets a job with a shard per training sample; load
 * workers in separate processes add protocol-level volunteers step by step — each heartbeating at
 * the coordinator's interval and leasing+completing at a set rate — until the p99 lease round trip
 * passes the goal, errors appear or the plan ends. Per step: the volunteers held, leases per second,
 * round trips, and the coordinator's CPU seconds per 1,000 leases and memory per 1,000 volunteers
 * (ratios that stay meaningful on a shared machine).
 */
import fs from 'node:fs';
import os from 'node:os';
import type { JobSpecInput } from '@tabswarm/protocol';
import type { BenchOptions, BenchPart, PartResult } from '../part.ts';
import { BenchCoordinator } from '../training/coordinator.ts';
import { canMeasureCpu, treeCpuSeconds } from '../training/process-cpu.ts';
import {
  GOALS,
  capacityMarkdown,
  stepFigure,
  stepLimit,
  type CapacityData,
  type StepFigure,
} from './capacity.ts';
import { startLoadFleet } from './load-fleet.ts';
import {
  findPostgresBin,
  startPostgres,
  type PostgresServer,
} from '../../../../server/src/store/postgres-server.ts';

/** What serves the load: one coordinator on SQLite, or several sharing a PostgreSQL server. */
export interface CapacitySetup {
  readonly coordinators: number;
  readonly store: 'sqlite' | 'postgres';
}

export const ONE_ON_SQLITE: CapacitySetup = { coordinators: 1, store: 'sqlite' };
export const TWO_ON_POSTGRES: CapacitySetup = { coordinators: 2, store: 'postgres' };

const setupLabel = (s: CapacitySetup): string =>
  `${s.coordinators} coordinator${s.coordinators === 1 ? '' : 's'}, ${s.store === 'sqlite' ? 'SQLite' : 'PostgreSQL'}`;

/** Volunteers per step. 10,000 at 0.5 cycles/s each is the 5,000 leases per second. */
const STEPS = [250, 500, 1_000, 2_000, 3_000, 5_000, 7_500, 10_000, 12_500, 15_000] as const;
const QUICK_STEPS = [50, 150] as const;
const RATE_PER_VOLUNTEER = 0.5;
const WINDOW_MS = 15_000;
const QUICK_WINDOW_MS = 4_000;
/** After a step's volunteers joined: their first heartbeats and leases settle before the window. */
const SETTLE_MS = 3_000;

/** A shard per training sample (8,000 an epoch) and epochs enough never to run dry. */
const LOAD_JOB: JobSpecInput = {
  name: 'bench coordinator load',
  model: { kind: 'preset', preset: 'mnist-mlp' },
  dataset: 'mnist',
  training: {
    optimizer: { type: 'sgd' },
    learningRate: 0.01,
    batchSize: 1,
    localSteps: 1,
    epochs: 1000,
    seed: 1,
  },
  // Checkpoints would ask these clients for uploads they never make: as rare as the spec allows.
  checkpoint: { everyShards: 1_000_000 },
};

function rssBytes(pid: number): number | null {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

const cpuSeconds = (pid: number): number | null =>
  canMeasureCpu() ? (treeCpuSeconds([pid]).get(pid) ?? null) : null;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runCapacity(
  options: BenchOptions,
  setup: CapacitySetup = ONE_ON_SQLITE,
): Promise<CapacityData> {
  const steps = options.quick ? QUICK_STEPS : STEPS;
  const windowMs = options.quick ? QUICK_WINDOW_MS : WINDOW_MS;
  // Half the cores (at least 2) for the load, so the coordinator keeps a core of its own.
  const workerCount = Math.max(2, Math.floor(os.availableParallelism() / 2));
  // Thousands of load volunteers from this machine's one address, each at a set rate: the
  // per-address and per-session limits (there against floods) would measure themselves.
  const env: Record<string, string> = { TABSWARM_RATE_LIMITS: 'off' };
  let database: PostgresServer | null = null;
  if (setup.store === 'postgres') {
    // The server's defaults (fsync on): the store's durability is part of what is measured.
    database = await startPostgres();
    env.TABSWARM_STORE = database.url;
  }
  const coordinators: BenchCoordinator[] = [];
  const figures: StepFigure[] = [];
  let stoppedBecause = `the plan ends at ${steps.at(-1)} volunteers`;
  try {
    // One after another: the first creates the schema the others find.
    for (let i = 0; i < setup.coordinators; i++)
      coordinators.push(await BenchCoordinator.start(env, coordinators[0]?.dataDir));
    const [first] = coordinators as [BenchCoordinator, ...BenchCoordinator[]];
    const job = await first.createJob(LOAD_JOB);
    const pids = coordinators.map((c) => c.pid);
    options.log(`${setupLabel(setup)}: pids ${pids.join(', ')}, job ${job.id}; ${workerCount} load workers`);
    const sum = (values: readonly (number | null)[]): number | null =>
      values.some((v) => v === null) ? null : values.reduce<number>((a, v) => a + (v as number), 0);
    const rss = (): number | null => sum(pids.map(rssBytes));
    const cpu = (): number | null => sum(pids.map(cpuSeconds));
    const idleRss = rss();
    // Each worker's volunteers go to one coordinator, round-robin (as sticky sessions would).
    const fleet = await startLoadFleet(
      (i) => ({ baseUrl: coordinators[i % coordinators.length]?.url as string }),
      workerCount,
    );
    try {
      await fleet.setRate(RATE_PER_VOLUNTEER);
      for (const volunteers of steps) {
        const grown = await fleet.growTo(volunteers);
        options.log(
          `${volunteers} volunteers: ${grown.joined} joined in ${(grown.ms / 1000).toFixed(1)} s` +
            (grown.failed > 0 ? `, ${grown.failed} failed (${grown.errors[0] ?? '?'})` : ''),
        );
        await sleep(SETTLE_MS);
        await fleet.window(); // discard: joins and the settling period
        const cpuBefore = cpu();
        await sleep(windowMs);
        const windows = await fleet.window();
        const cpuAfter = cpu();
        const figure = stepFigure(volunteers, grown.ms / 1000, RATE_PER_VOLUNTEER, windows, {
          cpuSeconds: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore,
          rssBytes: rss(),
          idleRssBytes: idleRss,
        });
        figures.push(figure);
        const limit = stepLimit(figure) ?? (grown.failed > 0 ? `${grown.failed} joins failed` : null);
        options.log(
          `  ${figure.leasesPerSecond.toFixed(0)} leases/s, lease p50 ${figure.leaseP50Ms.toFixed(1)} ms p99 ${figure.leaseP99Ms.toFixed(1)} ms, ` +
            `coordinator ${figure.coordinatorCores?.toFixed(2) ?? '?'} cores, RSS ${figure.rssMb?.toFixed(0) ?? '?'} MB` +
            (limit === null ? '' : ` — stops: ${limit}`),
        );
        if (limit !== null) {
          stoppedBecause = `at ${volunteers} volunteers, ${limit}`;
          break;
        }
      }
    } finally {
      await fleet.stop();
    }
  } finally {
    await Promise.all(coordinators.map((c) => c.stop()));
    database?.stop();
  }
  const held = [...figures].reverse().find((f) => stepLimit(f) === null) ?? null;
  return {
    setup: setupLabel(setup),
    goals: GOALS,
    ratePerVolunteer: RATE_PER_VOLUNTEER,
    workers: workerCount,
    steps: figures,
    held,
    stoppedBecause,
  };
}

export const coordinatorPart: BenchPart = {
  name: 'coordinator',
  description:
    'the coordinator at scale: volunteers held, leases per second and round trips as the load steps up',
  async run(options: BenchOptions): Promise<PartResult> {
    const setups = [ONE_ON_SQLITE];
    // Past one machine: two coordinators sharing PostgreSQL, in a full run where it is installed.
    if (!options.quick && findPostgresBin() !== null) setups.push(TWO_ON_POSTGRES);
    else if (!options.quick)
      options.log('PostgreSQL is not installed: the two-coordinator series is skipped');
    const data: CapacityData[] = [];
    for (const setup of setups) data.push(await runCapacity(options, setup));
    const markdown = data.map((d) => `**${d.setup}**\n\n${capacityMarkdown(d)}`).join('\n\n');
    return { part: 'coordinator', markdown, data: data.length === 1 ? data[0] : data };
  },
};
