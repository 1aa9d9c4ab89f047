/**
 * A fleet host: one child process that runs many virtual volunteers for a fleet (fleet.ts), each
 * with its compute in this process (TensorFlow.js once per process, not a thread per volunteer),
 * all on one in-memory network; peers in other hosts or browsers are reached through the
 * coordinator's relay. Takes its commands over IPC and exits when its parent goes away.
 */
import { MemoryNetwork } from '@tabswarm/gossip';
import {
  MAX_REPORTED_EXCHANGES,
  type HostAveraging,
  type HostCommand,
  type HostReply,
  type HostRequest,
  type HostSettings,
  type HostVolunteerState,
} from './fleet-protocol.ts';
import { VirtualVolunteer } from './virtual-volunteer.ts';

const settings = JSON.parse(process.argv[2] ?? '{}') as HostSettings;
const network = new MemoryNetwork();
const volunteers = new Map<string, VirtualVolunteer>();

const send = (message: unknown): void => {
  if (process.connected) process.send?.(message);
};

// The parent is gone (it exited or was killed): nothing will ever stop these volunteers but us.
process.on('disconnect', () => process.exit(0));
process.on('unhandledRejection', (reason) => {
  console.error(`[fleet host ${process.pid}] unhandled rejection:`, reason);
});

function each(labels: readonly string[], act: (v: VirtualVolunteer) => unknown): Promise<unknown> {
  return Promise.allSettled(
    labels.map((label) => {
      const v = volunteers.get(label);
      return v === undefined ? undefined : act(v);
    }),
  );
}

async function run(command: HostCommand): Promise<unknown> {
  switch (command.op) {
    case 'add': {
      const started = command.labels.map((label) => {
        const v = new VirtualVolunteer({
          baseUrl: settings.baseUrl,
          network,
          backend: settings.backend,
          compute: 'in-process',
          averaging: settings.averaging,
          label,
        });
        volunteers.set(label, v);
        return v.start().catch((error: unknown) => {
          console.error(`[fleet host] ${label} did not start: ${(error as Error).message}`);
          return v.stop();
        });
      });
      await Promise.all(started);
      return null;
    }
    case 'kill':
      return each(command.labels, (v) => v.kill()).then(() => null);
    case 'offline':
      return each(command.labels, (v) => v.setOffline(command.offline)).then(() => null);
    case 'block':
      return each(command.labels, (v) => v.blockPeers(command.nodeIds)).then(() => null);
    case 'unblock':
      return each(command.labels, (v) => v.unblockAll()).then(() => null);
    case 'slowdown':
      return each(command.labels, (v) => v.setSlowdown(command.factor)).then(() => null);
    case 'snapshot':
      return [...volunteers].map(([label, v]): HostVolunteerState => ({
        label,
        nodeId: v.nodeId,
        ...v.state(),
      }));
    case 'parameters': {
      const v = volunteers.get(command.label);
      return v === undefined ? null : v.parameters();
    }
    case 'averaging': {
      const v = volunteers.get(command.label);
      const averager = v?.averager ?? null;
      if (v === undefined || averager === null) return null;
      const { results } = v.averaging();
      return {
        jobId: averager.jobId,
        round: averager.round,
        parameters: averager.current().slice(),
        exchangesTotal: results.length,
        exchanges: results
          .slice(-MAX_REPORTED_EXCHANGES)
          .map(({ partner, role, round, outcome, distance }) => ({
            partner,
            role,
            round,
            outcome,
            distance,
          })),
      } satisfies HostAveraging;
    }
    case 'averageIdle': {
      const v = volunteers.get(command.label);
      return v === undefined ? false : v.averageIdle();
    }
    case 'stop':
      await Promise.allSettled([...volunteers.values()].map((v) => v.stop()));
      setTimeout(() => process.exit(0), 50);
      return null;
  }
}

process.on('message', (message: HostRequest) => {
  run(message.command).then(
    (value) => send({ id: message.id, ok: true, value } satisfies HostReply),
    (error: unknown) =>
      send({
        id: message.id,
        ok: false,
        message: (error as Error).message ?? String(error),
      } satisfies HostReply),
  );
});

send({ ready: true });
