/**
 * Validated work through the coordinator's own edges: replicated leases and completions with
 * update statistics over socket.io, a lazy volunteer outvoted by a tie-breaker and then refused
 * leases and completions, dropped from the honest volunteers' peer views, and shown as
 * distrusted in /api/nodes and /api/credit, where the honest ones earn credit.
 */
import { describe, expect, it } from 'vitest';
import type { Contributor, LeaseGrantInfo, NodeInfo, PeersDelta } from '@tabswarm/protocol';
import { api, joinVolunteer, request, serversClosedAfterEach, type VolunteerClient } from './test-support.ts';

const start = serversClosedAfterEach();

const HONEST = { norm: 2, projections: [1, -0.5, 0.25, 3] };
const NOTHING = { norm: 0, projections: [0, 0, 0, 0] };

async function lease(socket: VolunteerClient): Promise<LeaseGrantInfo> {
  const reply = await request<{ lease: LeaseGrantInfo | null }>(socket, 'requestLease', {});
  if (!reply.ok || reply.lease === null) throw new Error(`no lease: ${JSON.stringify(reply)}`);
  return reply.lease;
}

const complete = (socket: VolunteerClient, grant: LeaseGrantInfo, update: object, loss = 0.5) =>
  request<{ counted: boolean }>(socket, 'completeLease', {
    leaseId: grant.leaseId,
    loss,
    samples: grant.end - grant.start,
    durationMs: 10,
    update,
  });

describe('validated work at the coordinator', () => {
  it('outvotes a lazy volunteer, takes its leases and peers, and credits the honest ones', async () => {
    // Long heartbeat timeout: these sockets send no heartbeats, and nobody may go for being silent.
    const running = await start({ heartbeatTimeoutMs: 60_000 });
    const job = await api<{ job: { id: string } }>(`${running.url}/api/jobs`, {
      body: {
        name: 'checked',
        training: { batchSize: 10, localSteps: 2, epochs: 1 },
        validation: { replication: 1, tolerance: 0.05 },
      },
    });
    expect(job.status).toBe(201);
    const [lazy, h1, h2] = [running.volunteer(), running.volunteer(), running.volunteer()];
    const lazyId = (await joinVolunteer(lazy)).nodeId;
    const deltas: PeersDelta[] = [];
    h1.on('peersDelta', (d) => deltas.push(d));
    await joinVolunteer(h1);
    await joinVolunteer(h2);
    const cancelled: string[] = [];
    lazy.on('leaseCancelled', (c) => cancelled.push(c.leaseId));

    const first = await lease(lazy);
    expect(first.replica).toEqual({ checkpoint: 0, seed: expect.any(Number) as number });
    const second = await lease(lazy);
    const replica = await lease(h1);
    expect([replica.shard, replica.replica]).toEqual([first.shard, first.replica]);
    // Statistics are checked like any payload: a coded refusal, nothing recorded.
    const malformed = await complete(lazy, first, { norm: 0, projections: [0, 0, 0] });
    expect(malformed).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(await complete(lazy, first, NOTHING, 2.3)).toMatchObject({ ok: true, counted: true });
    expect(await complete(h1, replica, HONEST)).toMatchObject({ ok: true, counted: false });
    const tieBreaker = await lease(h2);
    expect([tieBreaker.shard, tieBreaker.replica]).toEqual([first.shard, first.replica]);
    expect(await complete(h2, tieBreaker, HONEST)).toMatchObject({ ok: true });

    await expect.poll(() => cancelled).toContain(second.leaseId);
    await expect.poll(() => deltas.flatMap((d) => d.removed)).toContain(lazyId);
    expect(deltas.flatMap((d) => d.removed)).toEqual([lazyId]);
    expect(await request(lazy, 'requestLease', {})).toMatchObject({ ok: true, lease: null });
    expect(await complete(lazy, second, NOTHING)).toMatchObject({ ok: false, code: 'DISTRUSTED' });

    const nodes = await api<{ nodes: NodeInfo[] }>(`${running.url}/api/nodes`);
    expect(nodes.body.nodes.find((n) => n.id === lazyId)?.trust?.standing).toBe('distrusted');
    const credit = await api<{ contributors: Contributor[] }>(`${running.url}/api/credit`);
    const byId = new Map(credit.body.contributors.map((c) => [c.nodeId, c]));
    expect(byId.get(lazyId)).toMatchObject({ standing: 'distrusted', invalid: 1, credit: 0 });
    const honest = credit.body.contributors.filter((c) => c.nodeId !== lazyId);
    expect(honest).toHaveLength(2);
    for (const c of honest) expect(c).toMatchObject({ valid: 1, invalid: 0, credit: 20 });
    const own = await api<{ nodeId: string; trust: Contributor | null }>(
      `${running.url}/api/credit/${lazyId}`,
    );
    expect(own).toMatchObject({ status: 200, body: { nodeId: lazyId, trust: { standing: 'distrusted' } } });
    expect((await api(`${running.url}/api/credit/v0000unknown`)).status).toBe(404);
    expect((await api(`${running.url}/api/credit/not%20an%20id`)).body).toMatchObject({
      code: 'BAD_REQUEST',
    });
    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    const jobId = job.body.job.id;
    expect(metrics).toContain(`tabswarm_replica_verdicts_total{job="${jobId}",verdict="valid"} 2`);
    expect(metrics).toContain(`tabswarm_replica_verdicts_total{job="${jobId}",verdict="invalid"} 1`);
    expect(metrics).toContain(`tabswarm_volunteers_distrusted_total{job="${jobId}"} 1`);
    // Most credit first.
    expect(credit.body.contributors.at(-1)?.nodeId).toBe(lazyId);
  });
});
