/**
 * Partner schedules as small strategies keyed by the job spec's name. `exponential` is the one-peer
 * exponential graph: in round r, node i of the sorted membership pairs with i XOR 2^(r mod ⌈log₂ n⌉),
 * a hypercube that averages 2^d nodes exactly in d rounds; where that partner does not exist (odd
 * sizes) or cannot be used (quarantined), it falls back to a random one. `random` picks uniformly.
 * In a large swarm each node sees only the coordinator's sample of the membership (MemberView
 * `sample`); samples differ from node to node, so i XOR 2^k would name partners that do not name
 * each other back: there the exponential schedule picks at random among the sample, unscheduled.
 */
import type { GOSSIP_SCHEDULES } from '@tabswarm/protocol';
import type { MemberView } from './coordinator-port.ts';

export type ScheduleName = (typeof GOSSIP_SCHEDULES)[number];

export interface Partner {
  readonly peerId: string;
  /** True when the schedule chose this peer for this round (both sides compute the same pairing). */
  readonly scheduled: boolean;
}

export interface PartnerSchedule {
  readonly name: ScheduleName;
  /** The partner for `round`, or null when there is nobody to exchange with. */
  partner(
    round: number,
    members: MemberView,
    self: string,
    eligible: (peerId: string) => boolean,
    random: () => number,
  ): Partner | null;
}

function randomPartner(
  members: readonly string[],
  self: string,
  eligible: (peerId: string) => boolean,
  random: () => number,
): Partner | null {
  const candidates = members.filter((m) => m !== self && eligible(m));
  if (candidates.length === 0) return null;
  const pick = candidates[
    Math.min(candidates.length - 1, Math.floor(random() * candidates.length))
  ] as string;
  return { peerId: pick, scheduled: false };
}

/** ⌈log₂ n⌉ for n ≥ 2. */
export function hypercubeDimensions(n: number): number {
  return Math.max(1, Math.ceil(Math.log2(n)));
}

export const exponentialSchedule: PartnerSchedule = {
  name: 'exponential',
  partner(round, members, self, eligible, random) {
    if (members.sample === true) return randomPartner(members, self, eligible, random);
    const sorted = [...members].sort();
    const i = sorted.indexOf(self);
    if (i < 0 || sorted.length < 2) return randomPartner(sorted, self, eligible, random);
    const j = i ^ (1 << (round % hypercubeDimensions(sorted.length)));
    const peer = sorted[j];
    if (peer !== undefined && eligible(peer)) return { peerId: peer, scheduled: true };
    return randomPartner(sorted, self, eligible, random);
  },
};

export const randomSchedule: PartnerSchedule = {
  name: 'random',
  partner: (_round, members, self, eligible, random) => randomPartner(members, self, eligible, random),
};

export function scheduleFor(name: ScheduleName): PartnerSchedule {
  return name === 'random' ? randomSchedule : exponentialSchedule;
}
