/**
 * Carries out a plan's faults: each PlannedFault when the job's progress reaches its point (and
 * its heal or return after its seconds), churn as leave+join events at seeded random times, and
 * the stragglers for the whole run. Every action lands in the record's fault timeline, including
 * the ones that could not be carried out.
 */
import { mulberry32 } from '@tabswarm/core';
import type { CoordinatorProcess } from './coordinator-process.ts';
import type { PlannedFault, SimulationPlan } from './plan.ts';
import type { FaultKind } from './record.ts';
import type { RecordBuilder } from './record-builder.ts';
import type { Swarm } from './swarm.ts';

export interface FaultExecutorOptions {
  readonly plan: Pick<SimulationPlan, 'faults' | 'churnPerMinute' | 'stragglers' | 'seed'>;
  readonly swarm: Swarm;
  readonly coordinator: CoordinatorProcess;
  readonly record: RecordBuilder;
  /** The job's progress now (0–1). */
  readonly progress: () => number;
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export class FaultExecutor {
  readonly #options: FaultExecutorOptions;
  readonly #random: () => number;
  readonly #pending: PlannedFault[];
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #running = new Set<Promise<void>>();
  #nextChurnMs: number | null = null;
  #stopped = false;

  constructor(options: FaultExecutorOptions) {
    this.#options = options;
    this.#random = mulberry32(options.plan.seed);
    this.#pending = [...options.plan.faults].sort((a, b) => a.at - b.at);
  }

  /** Faults done (the planned ones that fired) and planned. */
  get counts(): { done: number; planned: number } {
    const planned = this.#options.plan.faults.length;
    return { done: planned - this.#pending.length, planned };
  }

  /** Slows the stragglers down for the whole run (a seeded choice among the live volunteers). */
  async startStragglers(): Promise<void> {
    const { fraction, slowdown } = this.#options.plan.stragglers;
    const alive = this.#options.swarm.alive();
    const count = Math.round(fraction * alive.length);
    if (count === 0 || slowdown <= 1) return;
    const chosen = this.#pick(alive, count);
    await this.#act('straggler', chosen, `${slowdown}× slower`, () =>
      this.#options.swarm.slowdown(chosen, slowdown),
    );
  }

  /** Fires what is due now; call it on every observation. */
  tick(): void {
    if (this.#stopped) return;
    const progress = this.#options.progress();
    while (this.#pending.length > 0 && (this.#pending[0]?.at ?? 2) <= progress) {
      const fault = this.#pending.shift() as PlannedFault;
      this.#track(this.#fire(fault));
    }
    this.#churn();
  }

  /** Stops scheduling; waits for the actions under way (heals still pending are dropped). */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await Promise.allSettled([...this.#running]);
  }

  async #fire(fault: PlannedFault): Promise<void> {
    const { swarm, coordinator } = this.#options;
    switch (fault.kind) {
      case 'kill': {
        const chosen = this.#pick(swarm.alive(), fault.count);
        await this.#act('kill', chosen, 'closed without a goodbye', () => swarm.kill(chosen));
        return;
      }
      case 'join': {
        await this.#act('join', [], `${fault.count} new`, async () => {
          const labels = await swarm.join(fault.count);
          return `${labels.join(', ')} joined`;
        });
        return;
      }
      case 'offline': {
        const chosen = this.#pick(swarm.alive(), fault.count);
        await this.#act('offline', chosen, `for ${fault.seconds} s`, () => swarm.setOffline(chosen, true));
        this.#after(fault.seconds, () =>
          this.#act('online', chosen, 'back online', () => swarm.setOffline(chosen, false)),
        );
        return;
      }
      case 'partition': {
        const chosen = this.#pick(swarm.alive(), fault.a + fault.b);
        const a = chosen.slice(0, fault.a);
        const b = chosen.slice(fault.a);
        await this.#act('partition', chosen, `${a.join(',')} / ${b.join(',')} for ${fault.seconds} s`, () =>
          swarm.partition(a, b),
        );
        this.#after(fault.seconds, () => this.#act('heal', chosen, 'partition healed', () => swarm.heal()));
        return;
      }
      case 'restart-coordinator':
        await this.#act('restart-coordinator', [], 'SIGKILL, started again on its data directory', () =>
          coordinator.restart(),
        );
        return;
    }
  }

  /** Churn: leave+join events as a Poisson process of the planned rate, from the seeded generator. */
  #churn(): void {
    const perMinute = this.#options.plan.churnPerMinute;
    if (perMinute <= 0) return;
    const now = this.#options.record.t();
    const gap = (): number => (-Math.log(1 - this.#random()) / perMinute) * 60_000;
    if (this.#nextChurnMs === null) this.#nextChurnMs = now + gap();
    while (this.#nextChurnMs <= now) {
      this.#nextChurnMs += gap();
      const { swarm } = this.#options;
      const chosen = this.#pick(swarm.alive(), 1);
      this.#track(
        (async () => {
          await this.#act('churn-leave', chosen, 'left without a goodbye', () => swarm.kill(chosen));
          await this.#act('churn-join', [], 'a new volunteer', async () => (await swarm.join(1)).join(', '));
        })(),
      );
    }
  }

  /** Runs one action and records it, ok or not (a fault that cannot be done never stops the run). */
  async #act(
    kind: FaultKind,
    targets: readonly string[],
    detail: string,
    action: () => Promise<unknown>,
  ): Promise<void> {
    const progress = this.#options.progress();
    try {
      const result = await action();
      const more = typeof result === 'string' ? `: ${result}` : '';
      this.#options.record.fault({ kind, targets, progress, detail: `${detail}${more}`, ok: true });
    } catch (error) {
      this.#options.record.fault({
        kind,
        targets,
        progress,
        detail: `${detail}: ${errorText(error)}`,
        ok: false,
      });
    }
  }

  #after(seconds: number, action: () => Promise<void>): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#stopped) this.#track(action());
    }, seconds * 1000);
    this.#timers.add(timer);
  }

  #track(work: Promise<void>): void {
    this.#running.add(work);
    void work.finally(() => this.#running.delete(work));
  }

  /** `count` distinct labels drawn by the seeded generator. */
  #pick(labels: readonly string[], count: number): string[] {
    const pool = [...labels];
    const chosen: string[] = [];
    while (chosen.length < count && pool.length > 0) {
      const i = Math.floor(this.#random() * pool.length);
      chosen.push(...pool.splice(i, 1));
    }
    return chosen;
  }
}
