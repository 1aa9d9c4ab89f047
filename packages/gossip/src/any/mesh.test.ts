import { afterEach, describe, expect, it, vi } from 'vitest';
import type { GossipControl } from '@tabswarm/protocol';
import { MemoryNetwork } from './connector.ts';
import { MemoryCoordinator } from './memory-coordinator.ts';
import { GossipMesh, type GossipMeshOptions } from './mesh.ts';
import { testFrame } from './test-helpers.ts';

const meshes: GossipMesh[] = [];
afterEach(() => {
  for (const mesh of meshes.splice(0)) mesh.close();
});

function setup(count: number, options: Partial<GossipMeshOptions> = {}, refuse: readonly number[] = []) {
  const network = new MemoryNetwork({ refuseAfterMs: 20 });
  const coordinator = new MemoryCoordinator({
    relayBytesPerSec: options.relay === undefined ? Infinity : 2e6,
  });
  const nodes = Array.from({ length: count }, (_, i) => {
    const id = `node${i}`;
    const mesh = new GossipMesh({
      coordinator: coordinator.join(id),
      connector: network.connector(id, { refuseDirect: refuse.includes(i) }),
      reportIntervalMs: 0,
      heartbeatIntervalMs: 50,
      heartbeatMisses: 3,
      ...options,
    });
    meshes.push(mesh);
    return mesh;
  });
  return { network, coordinator, nodes };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('gossip mesh', () => {
  it('makes a direct link on demand and reuses it', async () => {
    const { nodes } = setup(2);
    const [a] = nodes;
    const first = await a?.connect('node1');
    const second = await a?.connect('node1');
    expect(first).toMatchObject({ ok: true, kind: 'direct' });
    expect(second?.ok && first?.ok && second.transport === first.transport).toBe(true);
  });

  it('measures the round trip and closes a link that goes silent (close events are unreliable)', async () => {
    const { network, nodes } = setup(2);
    const [a] = nodes;
    const link = await a?.connect('node1');
    if (!link?.ok) throw new Error('no link');
    await sleep(120);
    expect(a?.links()[0]?.rttMs).not.toBeNull();
    network.kill('node1'); // nothing arrives any more, and nothing says so
    await sleep(300);
    expect(link.transport.open).toBe(false);
    expect(a?.links()[0]).toMatchObject({ peer: 'node1', open: false });
    expect(a?.links()[0]?.lastError).toMatch(/heartbeat/);
  });

  it('keeps at most maxLinks direct links, closing the least recently used idle one', async () => {
    const { network, nodes } = setup(5, { maxLinks: 2 });
    const [a] = nodes;
    if (a === undefined) throw new Error('no node');
    for (const peer of ['node1', 'node2', 'node3', 'node4']) {
      expect(await a.connect(peer)).toMatchObject({ ok: true, kind: 'direct' });
      await sleep(5);
    }
    expect(a.directLinkCount()).toBe(2);
    expect(network.linkCount('node0')).toBe(2);
    expect(a.hub.transportFor('node4')).toBeDefined();
    expect(a.hub.transportFor('node1')).toBeUndefined();
  });

  it('never evicts a pinned link (an exchange in progress)', async () => {
    const { nodes } = setup(4, { maxLinks: 1 });
    const [a] = nodes;
    if (a === undefined) throw new Error('no node');
    await a.connect('node1');
    const unpin = a.pin('node1');
    await a.connect('node2');
    expect(a.hub.transportFor('node1')).toBeDefined();
    unpin();
    await a.connect('node3');
    expect(a.hub.transportFor('node1')).toBeUndefined();
  });

  it('falls back to the relay when no direct link can be made, and carries frames through it', async () => {
    const { coordinator, nodes } = setup(2, {}, [1]);
    const [a, b] = nodes;
    if (!a || !b) throw new Error('no nodes');
    const received: number[] = [];
    b.onFrame((event) => received.push(event.ok ? event.frame.header.elementCount : -1));
    const link = await a.connect('node1');
    expect(link).toMatchObject({ ok: true, kind: 'relay' });
    if (!link.ok) return;
    const outcome = await link.transport.sendFrame(testFrame(300_000));
    expect(outcome).toMatchObject({ ok: true });
    expect(received).toEqual([300_000]);
    expect(coordinator.relayedBytes).toBeGreaterThan(1_200_000);
    expect(a.links()).toMatchObject([{ peer: 'node1', kind: 'relay', open: true }]);
    expect(b.links()).toMatchObject([{ peer: 'node0', kind: 'relay' }]);
    expect(a.links()[0]?.bytesOut).toBeGreaterThan(1_200_000);
  });

  it('reports unreachable with neither a direct link nor a relay', async () => {
    const network = new MemoryNetwork({ refuseAfterMs: 5 });
    const coordinator = new MemoryCoordinator({ relay: false });
    const a = new GossipMesh({
      coordinator: coordinator.join('a0000'),
      connector: network.connector('a0000', { refuseDirect: true }),
      reportIntervalMs: 0,
    });
    coordinator.join('b0000');
    network.connector('b0000');
    meshes.push(a);
    expect(await a.connect('b0000')).toMatchObject({ ok: false, code: 'UNREACHABLE' });
    expect(a.links()).toMatchObject([{ peer: 'b0000', kind: 'failed', open: false }]);
  });

  it('reports links, rejected frames and quarantined peers to the coordinator', async () => {
    const { coordinator, nodes } = setup(2, { reportIntervalMs: 40 });
    const [a] = nodes;
    if (a === undefined) throw new Error('no node');
    await a.connect('node1');
    a.recordRejection('node1', 'NORM');
    a.quarantine('node1', 10_000);
    await sleep(100);
    const report = coordinator.linkReports.filter((r) => r.nodeId === 'node0').at(-1)?.report;
    expect(report?.quarantined).toEqual(['node1']);
    expect(report?.links[0]).toMatchObject({ peer: 'node1', kind: 'direct', rejected: { NORM: 1 } });
  });

  it('closes links to peers that left the membership, and counts malformed control messages', async () => {
    const { coordinator, nodes } = setup(2);
    const [a] = nodes;
    const link = await a?.connect('node1');
    if (!link?.ok) throw new Error('no link');
    const controls: GossipControl[] = [];
    a?.onControl((_peer, message) => controls.push(message));
    const b = nodes[1];
    b?.hub.transportFor('node0')?.sendControl({ t: 'xok', x: -1 });
    b?.hub.transportFor('node0')?.sendControl({ t: 'xok', x: 7 });
    await sleep(20);
    expect(controls).toEqual([{ t: 'xok', x: 7 }]);
    expect(a?.links()[0]?.rejected.BAD_CONTROL).toBe(1);
    coordinator.leave('node1');
    expect(link.transport.open).toBe(false);
  });

  it('blocks a peer both ways, direct and relayed, until unblocked (a partition)', async () => {
    // node1 has no direct path, so its traffic to node0 goes through the relay; node2 links directly.
    const { nodes } = setup(3, {}, [1]);
    const [a, b, c] = nodes;
    if (!a || !b || !c) throw new Error('no nodes');
    const atA: string[] = [];
    a.onFrame((event) => atA.push(event.peerId));
    const before = await b.connect('node0');
    expect(before).toMatchObject({ ok: true, kind: 'relay' });
    const direct = await a.connect('node2');
    if (!before.ok || !direct.ok) throw new Error('no links');

    a.blockPeers(['node1', 'node2']);
    expect(direct.transport.open).toBe(false);
    expect(a.members()).toEqual(['node0']);
    expect(await a.connect('node1')).toMatchObject({ ok: false, code: 'UNREACHABLE' });
    expect(await a.connect('node2')).toMatchObject({ ok: false, code: 'UNREACHABLE' });
    // Only node0 blocks: what node1 relays and what node2 dials directly still reaches node0's
    // mesh, and is closed there unread.
    await b.connect('node0').then((l) => (l.ok ? l.transport.sendFrame(testFrame(1_000)) : null));
    const dialled = await c.connect('node0');
    if (dialled.ok) await dialled.transport.sendFrame(testFrame(1_000)).catch(() => null);
    await sleep(100);
    expect(atA).toEqual([]);
    expect(a.hub.transportFor('node1')).toBeUndefined();
    expect(a.hub.transportFor('node2')).toBeUndefined();

    a.unblockAll();
    expect(a.members()).toEqual(['node0', 'node1', 'node2']);
    const healed = await b.connect('node0');
    if (!healed.ok) throw new Error('no link after the heal');
    expect(await healed.transport.sendFrame(testFrame(1_000))).toMatchObject({ ok: true });
    expect(await a.connect('node2')).toMatchObject({ ok: true, kind: 'direct' });
    await vi.waitFor(() => expect(atA).toContain('node1'));
  });
});
