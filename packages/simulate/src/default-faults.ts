/**
 * The default fault mix (`--faults default`): one of each fault the harness can inject, spread
 * over the job so their effects do not overlap much, sized to the swarm.
 */
import type { PlannedFault } from './plan.ts';

export const DEFAULT_FAULT_MIX_TEXT = [
  'stragglers: 1 of the N volunteers at 4× slower for the whole run',
  'kill 1 at 30 %',
  'partition into halves (N/2 rounded down and the rest) at 40 % for 15 s',
  'join 1 at 50 %',
  'offline 1 at 60 % for 10 s',
  'restart the coordinator at 70 % (left out with --url: a remote coordinator is not ours to kill)',
];

export function defaultFaultMix(
  volunteers: number,
  withRestart: boolean,
): { faults: PlannedFault[]; stragglers: { fraction: number; slowdown: number } } {
  const a = Math.floor(volunteers / 2);
  const faults: PlannedFault[] = [
    { kind: 'kill', count: 1, at: 0.3 },
    { kind: 'partition', a, b: volunteers - a, at: 0.4, seconds: 15 },
    { kind: 'join', count: 1, at: 0.5 },
    { kind: 'offline', count: 1, at: 0.6, seconds: 10 },
  ];
  if (withRestart) faults.push({ kind: 'restart-coordinator', at: 0.7 });
  return { faults, stragglers: { fraction: 1 / volunteers, slowdown: 4 } };
}
