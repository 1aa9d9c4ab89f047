/**
 * A fleet of virtual volunteers spread over child processes (by default one per core, so the
 * swarm uses every core and never runs in the caller's process, which may host the coordinator).
 * Each child (fleet-host.ts) runs many volunteers; the fleet assigns labels, places volunteers on
 * the least loaded child, and forwards faults (kill, offline, partition, slowdown) over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { nodeIdSchema } from '@tabswarm/protocol';
import type {
  HostAveraging,
  HostCommand,
  HostReply,
  HostVolunteerState,
  HostSettings,
} from './fleet-protocol.ts';
import type { VirtualStatus } from './virtual-volunteer.ts';

export interface FleetOptions {
  /** The coordinator's origin, e.g. http://127.0.0.1:PORT. */
  baseUrl: string;
  /** Volunteers to start with (more with add()). */
  count: number;
  /** TensorFlow.js's backend in every child; WebAssembly by default. */
  backend?: 'wasm' | 'cpu';
  /** Child processes; default: the number of cores. */
  processes?: number;
  /** Average after every shard by the job's mode (default true). */
  averaging?: boolean;
  /** Labels are `${labelPrefix}-${n}`; default 'virtual'. */
  labelPrefix?: string;
  /**
   * add() starts volunteers in waves of this many (default 50): the next wave starts once this one
   * has joined, or after joinWaveMs, so a thousand joins do not queue at the coordinator past
   * their request timeouts.
   */
  joinWave?: number;
  /** The longest add() waits for a wave to join before it starts the next; default 5000 ms. */
  joinWaveMs?: number;
}

export interface VirtualNodeSnapshot {
  label: string;
  nodeId: string | null;
  status: VirtualStatus;
  samplesPerSec: number | null;
  shardsDone: number;
  bytesSent: number;
  bytesReceived: number;
  rejectedFrames: number;
  exchangesApplied: number;
}

export interface VirtualFleet {
  /** Live volunteers (neither killed nor stopped). */
  labels(): readonly string[];
  /**
   * Starts more, in waves of joinWave (each after the one before has joined, or joinWaveMs); returns
   * their labels once each has started its compute and begun joining.
   */
  add(count: number): Promise<readonly string[]>;
  /** Closes without goodbye: no lease released, no leave; peers' links to them go silent. */
  kill(labels: readonly string[]): Promise<void>;
  /** Drops coordinator and peer traffic; back online they resume as the same node. */
  setOffline(labels: readonly string[], offline: boolean): Promise<void>;
  /**
   * Blocks peer traffic, relay included, between the two groups; null heals. A group may also
   * name node ids of peers outside the fleet (browsers): the fleet's side blocks them.
   */
  partition(groups: readonly [readonly string[], readonly string[]] | null): Promise<void>;
  /** Each shard takes `factor` times as long (sleeps (factor − 1)× its compute time). */
  setSlowdown(labels: readonly string[], factor: number): Promise<void>;
  snapshot(): Promise<readonly VirtualNodeSnapshot[]>;
  parameters(label: string): Promise<Float32Array | null>;
  /** A volunteer's gossip averager (round, model, latest exchanges); null when it has none. */
  averaging(label: string): Promise<HostAveraging | null>;
  /**
   * One gossip round with no training for each of `labels`, one volunteer after another (so no
   * two of them start an exchange at once): the trainer's after-shard averaging for a shard of
   * zero steps. Only while they hold no lease (their job is over); each says whether it ran.
   */
  averageIdle(labels: readonly string[]): Promise<boolean[]>;
  /** Every child process ends, whatever happened (stopped politely, then killed). */
  stop(): Promise<void>;
}

/** How long a child has to start, and to stop its volunteers before it is killed. */
const CHILD_START_MS = 60_000;
const CHILD_STOP_MS = 15_000;
/** A request a child does not answer within this fails (a stuck child should not hang a run). */
const REQUEST_TIMEOUT_MS = 300_000;
const DEFAULT_JOIN_WAVE = 50;
const DEFAULT_JOIN_WAVE_MS = 5_000;
/** How often add() looks whether a wave has joined. */
const JOIN_POLL_MS = 250;

const HOST_BOOT = fileURLToPath(new URL('./fleet-host-boot.mjs', import.meta.url));

interface Host {
  readonly index: number;
  readonly process: ChildProcess;
  readonly labels: Set<string>;
  readonly pending: Map<number, { resolve(value: unknown): void; reject(error: Error): void }>;
  readonly exited: Promise<void>;
  alive: boolean;
}

let nextRequestId = 1;

function startHost(index: number, settings: HostSettings): Promise<Host> {
  const child = fork(HOST_BOOT, [JSON.stringify(settings)], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // Not the caller's flags (a test runner's loaders): the boot module registers tsx itself.
    execArgv: [],
  });
  const host: Host = {
    index,
    process: child,
    labels: new Set(),
    pending: new Map(),
    alive: true,
    exited: new Promise((resolve) => child.once('exit', () => resolve())),
  };
  void host.exited.then(() => {
    host.alive = false;
    for (const p of host.pending.values()) p.reject(new Error(`fleet host ${index} exited`));
    host.pending.clear();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fleet host ${index} did not start within ${CHILD_START_MS} ms`));
    }, CHILD_START_MS);
    child.on('message', (message: HostReply | { ready: true }) => {
      if ('ready' in message) {
        clearTimeout(timer);
        resolve(host);
        return;
      }
      const waiting = host.pending.get(message.id);
      if (waiting === undefined) return;
      host.pending.delete(message.id);
      if (message.ok) waiting.resolve(message.value);
      else waiting.reject(new Error(message.message));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`fleet host ${index} exited before it was ready (${code ?? signal})`));
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function call(host: Host, command: HostCommand): Promise<unknown> {
  if (!host.alive) return Promise.reject(new Error(`fleet host ${host.index} is gone`));
  const id = nextRequestId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      host.pending.delete(id);
      reject(new Error(`fleet host ${host.index} did not answer ${command.op} in time`));
    }, REQUEST_TIMEOUT_MS);
    host.pending.set(id, {
      resolve: (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      reject: (error) => {
        clearTimeout(timer);
        reject(error);
      },
    });
    host.process.send({ id, command }, (error) => {
      if (error === null) return;
      host.pending.delete(id);
      clearTimeout(timer);
      reject(error);
    });
  });
}

export async function startVirtualFleet(options: FleetOptions): Promise<VirtualFleet> {
  const count = Math.max(0, Math.floor(options.count));
  const processes = Math.max(1, Math.floor(options.processes ?? os.availableParallelism()));
  const prefix = options.labelPrefix ?? 'virtual';
  const joinWave = Math.max(1, Math.floor(options.joinWave ?? DEFAULT_JOIN_WAVE));
  const joinWaveMs = Math.max(0, options.joinWaveMs ?? DEFAULT_JOIN_WAVE_MS);
  const settings: HostSettings = {
    baseUrl: options.baseUrl,
    backend: options.backend ?? 'wasm',
    averaging: options.averaging ?? true,
  };
  const started = await Promise.allSettled(
    Array.from({ length: processes }, (_, i) => startHost(i, settings)),
  );
  const hosts = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed !== undefined) {
    for (const h of hosts) h.process.kill('SIGKILL');
    throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
  }

  // If the caller's process exits without stop(), the children go with it (they also exit on
  // their own when the IPC channel closes).
  const killAll = (): void => {
    for (const h of hosts) if (h.alive) h.process.kill('SIGKILL');
  };
  process.once('exit', killAll);

  const hostOf = new Map<string, Host>();
  const gone = new Set<string>();
  let nextLabel = 0;
  let stopping: Promise<void> | null = null;

  /** The fleet's labels among `labels`, grouped by the host that runs them. */
  const byHost = (labels: readonly string[]): Map<Host, string[]> => {
    const groups = new Map<Host, string[]>();
    for (const label of labels) {
      const host = hostOf.get(label);
      if (host === undefined) throw new Error(`no virtual volunteer labelled ${label}`);
      let group = groups.get(host);
      if (group === undefined) groups.set(host, (group = []));
      group.push(label);
    }
    return groups;
  };
  const onEach = async (
    labels: readonly string[],
    command: (labels: string[]) => HostCommand,
  ): Promise<void> => {
    await Promise.all([...byHost(labels)].map(([host, group]) => call(host, command(group))));
  };
  const live = (): string[] => [...hostOf.keys()].filter((l) => !gone.has(l));

  const snapshot = async (): Promise<VirtualNodeSnapshot[]> => {
    const all = await Promise.all(
      hosts.filter((h) => h.alive).map((h) => call(h, { op: 'snapshot' }) as Promise<HostVolunteerState[]>),
    );
    const order = (label: string): number => Number(label.slice(prefix.length + 1));
    return all.flat().sort((a, b) => order(a.label) - order(b.label));
  };

  /** Starts `n` volunteers at once on the least loaded hosts; their labels. */
  const addWave = async (n: number): Promise<string[]> => {
    const labels: string[] = [];
    const groups = new Map<Host, string[]>();
    for (let i = 0; i < n; i++) {
      const label = `${prefix}-${nextLabel++}`;
      const host = hosts
        .filter((h) => h.alive)
        .reduce<Host | undefined>(
          (best, h) => (best === undefined || h.labels.size < best.labels.size ? h : best),
          undefined,
        );
      if (host === undefined) throw new Error('every fleet host is gone');
      host.labels.add(label);
      hostOf.set(label, host);
      labels.push(label);
      let group = groups.get(host);
      if (group === undefined) groups.set(host, (group = []));
      group.push(label);
    }
    await Promise.all([...groups].map(([host, group]) => call(host, { op: 'add', labels: group })));
    return labels;
  };

  /** Until every one of `labels` has joined (or stopped), or joinWaveMs has passed. */
  const joined = async (labels: readonly string[]): Promise<void> => {
    const waiting = new Set(labels);
    const deadline = Date.now() + joinWaveMs;
    while (waiting.size > 0 && stopping === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(JOIN_POLL_MS, deadline - Date.now())));
      let states: VirtualNodeSnapshot[];
      try {
        states = await snapshot();
      } catch {
        return; // a host died: that is for the caller to see, not a reason to hold the next wave
      }
      for (const s of states) {
        if (s.nodeId !== null || s.status === 'stopped' || s.status === 'killed') waiting.delete(s.label);
      }
    }
  };

  const fleet: VirtualFleet = {
    labels: live,
    async add(n) {
      const total = Math.max(0, Math.floor(n));
      const labels: string[] = [];
      let wave: string[] = [];
      while (labels.length < total && stopping === null) {
        if (wave.length > 0) await joined(wave);
        wave = await addWave(Math.min(joinWave, total - labels.length));
        labels.push(...wave);
      }
      return labels;
    },
    async kill(labels) {
      await onEach(labels, (group) => ({ op: 'kill', labels: group }));
      for (const label of labels) gone.add(label);
    },
    setOffline: (labels, offline) => onEach(labels, (group) => ({ op: 'offline', labels: group, offline })),
    setSlowdown: (labels, factor) => onEach(labels, (group) => ({ op: 'slowdown', labels: group, factor })),
    async partition(groups) {
      const everyone = live();
      // A new partition replaces the last one.
      await onEach(everyone, (group) => ({ op: 'unblock', labels: group }));
      if (groups === null) return;
      const nodeIds = new Map<string, string>();
      for (const s of await snapshot()) if (s.nodeId !== null) nodeIds.set(s.label, s.nodeId);
      const resolve = (entries: readonly string[]): { labels: string[]; ids: string[] } => {
        const labels: string[] = [];
        const ids: string[] = [];
        for (const entry of entries) {
          if (hostOf.has(entry)) {
            labels.push(entry);
            const id = nodeIds.get(entry);
            if (id !== undefined) ids.push(id);
          } else if (nodeIdSchema.safeParse(entry).success) {
            ids.push(entry); // a peer outside the fleet (a browser's node id)
          } else {
            throw new Error(`${entry} is neither a virtual volunteer's label nor a node id`);
          }
        }
        return { labels: labels.filter((l) => !gone.has(l)), ids };
      };
      const a = resolve(groups[0]);
      const b = resolve(groups[1]);
      await Promise.all([
        onEach(a.labels, (group) => ({ op: 'block', labels: group, nodeIds: b.ids })),
        onEach(b.labels, (group) => ({ op: 'block', labels: group, nodeIds: a.ids })),
      ]);
    },
    snapshot,
    async parameters(label) {
      const host = hostOf.get(label);
      if (host === undefined) throw new Error(`no virtual volunteer labelled ${label}`);
      return (await call(host, { op: 'parameters', label })) as Float32Array | null;
    },
    async averaging(label) {
      const host = hostOf.get(label);
      if (host === undefined) throw new Error(`no virtual volunteer labelled ${label}`);
      return (await call(host, { op: 'averaging', label })) as HostAveraging | null;
    },
    async averageIdle(labels) {
      const ran: boolean[] = [];
      for (const label of labels) {
        const host = hostOf.get(label);
        if (host === undefined) throw new Error(`no virtual volunteer labelled ${label}`);
        ran.push((await call(host, { op: 'averageIdle', label })) as boolean);
      }
      return ran;
    },
    stop() {
      stopping ??= (async () => {
        for (const label of hostOf.keys()) gone.add(label);
        await Promise.all(
          hosts.map(async (h) => {
            if (!h.alive) return;
            await Promise.race([
              call(h, { op: 'stop' }).catch(() => undefined),
              new Promise((resolve) => setTimeout(resolve, CHILD_STOP_MS)),
            ]);
            const killer = setTimeout(() => h.process.kill('SIGKILL'), 2_000);
            await h.exited;
            clearTimeout(killer);
          }),
        );
        process.off('exit', killAll);
      })();
      return stopping;
    },
  };
  try {
    if (count > 0) await fleet.add(count);
  } catch (error) {
    await fleet.stop();
    throw error;
  }
  return fleet;
}
