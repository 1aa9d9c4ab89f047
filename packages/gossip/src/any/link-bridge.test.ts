import { afterEach, describe, expect, it } from 'vitest';
import { GossipAverager } from './averager.ts';
import type { BridgeEndpoint } from './bridge-protocol.ts';
import { BridgedPorts } from './bridged-ports.ts';
import { MemoryNetwork, type LinkConnector } from './connector.ts';
import type { DataChannelLike } from './direct-channel.ts';
import { referenceKernels } from './kernel-library.ts';
import { LinkHost } from './link-host.ts';
import { MemoryCoordinator } from './memory-coordinator.ts';
import type { MessageLink } from './link.ts';
import type { GossipMesh } from './mesh.ts';
import { consensusError, DEFAULT_SETTINGS, mean } from './swarm-fixture.ts';
import { randomVector } from './test-helpers.ts';

/**
 * Each node as the volunteer page runs it: the links and the coordinator port on the "page" side
 * of a real MessageChannel (LinkHost), the mesh and the averager on the "worker" side
 * (BridgedPorts) — only the bridge's messages cross.
 */
interface BridgedNode {
  readonly id: string;
  readonly host: LinkHost;
  readonly worker: BridgedPorts;
  readonly channel: MessageChannel;
  readonly pageSends: { count: number };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => T | null | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * A pre-negotiated direct channel as two MessagePorts (transferable like an RTCDataChannel): the
 * first end of a pair opened takes port1, the other port2. `noChannel` nodes open none, so the
 * other side's HELLOs go unheard.
 */
function directChannels(
  connector: LinkConnector,
  localId: string,
  pairs: Map<string, MessageChannel>,
  untransferable: boolean,
  unpaired: boolean,
) {
  const give = (link: MessageLink): MessageLink => {
    (link as { openTransferableChannel?: () => Transferable | null }).openTransferableChannel = () => {
      // A browser without transferable data channels: the post throws DataCloneError.
      if (untransferable) return { close: () => undefined };
      if (unpaired) {
        // A channel whose other end never opens: this side's HELLOs go unheard.
        const lone = new MessageChannel();
        cleanups.push(() => (lone.port1.close(), lone.port2.close()));
        return lone.port1;
      }
      const key = [localId, link.peerId].sort().join('|');
      const existing = pairs.get(key);
      if (existing !== undefined) {
        pairs.delete(key);
        return existing.port2;
      }
      const channel = new MessageChannel();
      pairs.set(key, channel);
      cleanups.push(() => (channel.port1.close(), channel.port2.close()));
      return channel.port1;
    };
    return link;
  };
  return {
    dial: async (peerId: string, timeoutMs: number) => {
      const result = await connector.dial(peerId, timeoutMs);
      return result.ok ? { ok: true as const, link: give(result.link) } : result;
    },
    onIncoming: (handler: (link: MessageLink) => void) => connector.onIncoming((link) => handler(give(link))),
    close: () => connector.close(),
  };
}

/** A MessagePort taken for an RTCDataChannel in the worker: open, nothing queued, closes with its twin. */
function portChannel(transferred: unknown): DataChannelLike | null {
  if (!(transferred instanceof MessagePort)) return null;
  const port = transferred;
  const wrapped = new Map<(event: { data?: unknown }) => void, (event: MessageEvent) => void>();
  const channel: DataChannelLike = {
    readyState: 'open',
    bufferedAmount: 0,
    bufferedAmountLowThreshold: 0,
    binaryType: 'arraybuffer',
    send: (data) => port.postMessage(data.slice().buffer),
    close: () => {
      (channel as { readyState: string }).readyState = 'closed';
      port.close();
    },
    addEventListener: (type, listener) => {
      const on = (event: MessageEvent): void => listener({ data: event.data });
      wrapped.set(listener, on);
      port.addEventListener(type === 'message' ? 'message' : type, on as EventListener);
      if (type === 'message') port.start();
    },
    removeEventListener: (type, listener) => {
      const on = wrapped.get(listener);
      if (on !== undefined) port.removeEventListener(type, on as EventListener);
    },
  };
  return channel;
}

function bridgedSwarm(
  size: number,
  options: {
    refuseDirect?: number[];
    direct?: boolean;
    noChannel?: number[];
    untransferable?: number[];
    /** Every direct channel opens alone, so no HELLO is ever heard. */
    unpaired?: boolean;
    /** The HELLO wait, for every node or node by node. */
    helloTimeoutMs?: number | readonly number[];
  } = {},
) {
  const network = new MemoryNetwork({ bytesPerTick: 1 << 20 });
  const coordinator = new MemoryCoordinator();
  const pairs = new Map<string, MessageChannel>();
  const nodes: BridgedNode[] = [];
  for (let i = 0; i < size; i++) {
    const id = `node${String(i).padStart(3, '0')}`;
    const memory = network.connector(id, { refuseDirect: options.refuseDirect?.includes(i) ?? false });
    const withChannel = options.direct === true && options.noChannel?.includes(i) !== true;
    const connector = withChannel
      ? directChannels(
          memory,
          id,
          pairs,
          options.untransferable?.includes(i) === true,
          options.unpaired === true,
        )
      : memory;
    const host = new LinkHost({
      coordinator: coordinator.join(id),
      connector,
      directChannels: options.direct === true,
    });
    const channel = new MessageChannel();
    // Counts the frames' chunks the worker hands to the page to send.
    const pageSends = { count: 0 };
    const port = channel.port2;
    const endpoint: BridgeEndpoint = {
      postMessage: (message, transfer) => {
        if ((message as { t?: string }).t === 'send') pageSends.count++;
        port.postMessage(message, transfer ?? []);
      },
      addEventListener: (type, listener) => port.addEventListener(type, listener),
      removeEventListener: (type, listener) => port.removeEventListener(type, listener),
      start: () => port.start(),
    };
    const helloTimeoutMs =
      typeof options.helloTimeoutMs === 'number' ? options.helloTimeoutMs : options.helloTimeoutMs?.[i];
    const worker = new BridgedPorts(endpoint, {
      mesh: { reportIntervalMs: 0, heartbeatIntervalMs: 200 },
      channelOf: portChannel,
      ...(helloTimeoutMs === undefined ? {} : { helloTimeoutMs }),
    });
    host.attach(channel.port1);
    nodes.push({ id, host, worker, channel, pageSends });
    cleanups.push(() => {
      worker.close();
      host.close();
      channel.port1.close();
      channel.port2.close();
    });
  }
  return { network, coordinator, nodes };
}

const meshOf = (node: BridgedNode): Promise<GossipMesh> => until(`${node.id}'s mesh`, () => node.worker.mesh);

describe('the link bridge (page links, worker mesh, over a MessageChannel)', () => {
  /** Four lockstep rounds of gossip from distinct vectors: consensus, the mean kept, reports sent. */
  async function averageToConsensus(swarm: ReturnType<typeof bridgedSwarm>): Promise<void> {
    const { coordinator, nodes } = swarm;
    const averagers = await Promise.all(
      nodes.map(
        async (node, i) =>
          new GossipAverager({
            mesh: await meshOf(node),
            jobId: 'job-bridge',
            averaging: DEFAULT_SETTINGS,
            kernels: referenceKernels,
            initial: randomVector(50_000, i + 1),
            lockstep: true,
          }),
      ),
    );
    cleanups.push(() => averagers.forEach((a) => a.close()));
    await until('every member in every view', () =>
      nodes.every((n) => n.worker.mesh?.members().length === nodes.length) ? true : null,
    );
    const before = mean(averagers.map((a) => a.current()));
    expect(consensusError(averagers.map((a) => a.current()))).toBeGreaterThan(0.5);
    for (let round = 0; round < 4; round++) await Promise.all(averagers.map((a) => a.runRound()));
    const after = averagers.map((a) => a.current());
    expect(consensusError(after)).toBeLessThan(1e-3);
    const drift = mean(after).reduce((sum, v, i) => sum + Math.abs(v - (before[i] ?? 0)), 0);
    expect(drift / after[0]!.length).toBeLessThan(1e-6);
    // Each node's reports left through its page's coordinator port.
    const ok = coordinator.exchangeReports.filter((r) => r.report.outcome === 'ok');
    expect(new Set(ok.map((r) => r.nodeId))).toEqual(new Set(nodes.map((n) => n.id)));
    // The page holds the links (PeerJS in the browser): one per pair that exchanged.
    expect(nodes.every((n) => n.host.linkCount > 0)).toBe(true);
  }

  it('gossip averaging through the bridge reaches consensus, mean preserved, reports reach the coordinator', async () => {
    const swarm = bridgedSwarm(4);
    await averageToConsensus(swarm);
    // Without direct channels every chunk crosses the page.
    expect(swarm.nodes.every((n) => n.pageSends.count > 0)).toBe(true);
  });

  it('with direct channels the workers exchange frames themselves: the page sends nothing', async () => {
    const swarm = bridgedSwarm(4, { direct: true });
    await averageToConsensus(swarm);
    for (const node of swarm.nodes) {
      expect(node.pageSends.count).toBe(0);
      expect(node.worker.linkPaths.direct).toBeGreaterThan(0);
      expect(node.worker.linkPaths.page).toBe(0);
    }
  });

  it.each([
    ['opens no direct channel', { noChannel: [1] }],
    ['cannot transfer one to its worker', { untransferable: [1] }],
  ])('a peer that %s is still reached: after the HELLO wait, through the page', async (_, peer) => {
    const { nodes } = bridgedSwarm(2, { direct: true, helloTimeoutMs: 200, ...peer });
    const [a, b] = await Promise.all(nodes.map(meshOf));
    const received: number[] = [];
    b!.onFrame((event) => {
      if (event.ok) received.push(event.frame.header.elementCount);
    });
    const connected = await a!.connect(nodes[1]!.id);
    if (!connected.ok) throw new Error(connected.message);
    const { encodeFp32Frame } = await import('@tabswarm/protocol');
    const sent = await connected.transport.sendFrame(
      encodeFp32Frame({ jobId: 'j', senderId: nodes[0]!.id, round: 0, values: randomVector(100_000, 3) }),
    );
    expect(sent.ok).toBe(true);
    expect(received).toEqual([100_000]);
    expect(nodes[0]!.worker.linkPaths).toEqual({ direct: 0, page: 1 });
    expect(nodes[0]!.pageSends.count).toBeGreaterThan(0);
  });

  it('what arrives while a link still waits for HELLO is kept for the mesh, not dropped', async () => {
    // a gives up on HELLO after 100 ms and sends through the page; b's link is handed to its mesh
    // only when its own wait ends, 300 ms later — the frame reached b's worker in between.
    const { nodes } = bridgedSwarm(2, { direct: true, unpaired: true, helloTimeoutMs: [100, 400] });
    const [a, b] = await Promise.all(nodes.map(meshOf));
    const received: number[] = [];
    b!.onFrame((event) => {
      if (event.ok) received.push(event.frame.header.elementCount);
    });
    const connected = await a!.connect(nodes[1]!.id);
    if (!connected.ok) throw new Error(connected.message);
    const { encodeFp32Frame } = await import('@tabswarm/protocol');
    const sent = await connected.transport.sendFrame(
      encodeFp32Frame({ jobId: 'j', senderId: nodes[0]!.id, round: 0, values: randomVector(10_000, 4) }),
    );
    // Acknowledged, so b's mesh read it once the link was handed over.
    expect(sent).toMatchObject({ ok: true });
    expect(received).toEqual([10_000]);
    expect(nodes[1]!.worker.linkPaths).toEqual({ direct: 0, page: 1 });
  });

  it('a link not yet handed to the mesh holds at most 16 MiB for it, then is closed', () => {
    // The worker's end alone, driven by hand as the page would drive it.
    const listeners = new Set<(event: MessageEvent) => void>();
    const posted: { t: string; link?: number }[] = [];
    const endpoint: BridgeEndpoint = {
      postMessage: (message) => void posted.push(message as { t: string; link?: number }),
      addEventListener: (_type, listener) => void listeners.add(listener as (event: MessageEvent) => void),
      removeEventListener: (_type, listener) =>
        void listeners.delete(listener as (event: MessageEvent) => void),
    };
    const worker = new BridgedPorts(endpoint, { channelOf: portChannel, helloTimeoutMs: 5_000 });
    cleanups.push(() => worker.close());
    const fromPage = (data: unknown): void => listeners.forEach((l) => l({ data } as MessageEvent));
    // A channel that never pairs: the link waits out its HELLO, unsubscribed, while the peer sends.
    const lone = new MessageChannel();
    cleanups.push(() => (lone.port1.close(), lone.port2.close()));
    fromPage({ t: 'incoming', link: 7, peerId: 'flooder', kind: 'direct', channel: lone.port1 });
    const chunk = (): ArrayBuffer => new ArrayBuffer(1 << 20);
    for (let i = 0; i < 16; i++) fromPage({ t: 'data', link: 7, data: chunk() });
    expect(posted.filter((m) => m.t === 'close')).toEqual([]); // 16 MiB: held
    fromPage({ t: 'data', link: 7, data: chunk() });
    expect(posted.filter((m) => m.t === 'close')).toEqual([{ t: 'close', link: 7 }]);
  });

  it('carries frames through the relay when a node makes no direct links', async () => {
    const { coordinator, nodes } = bridgedSwarm(2, { refuseDirect: [1] });
    const [a, b] = await Promise.all(nodes.map(meshOf));
    const received: number[] = [];
    b!.onFrame((event) => {
      if (event.ok) received.push(event.frame.header.elementCount);
    });
    const connected = await a!.connect(nodes[1]!.id);
    if (!connected.ok) throw new Error(connected.message);
    expect(connected.kind).toBe('relay');
    const { encodeFp32Frame } = await import('@tabswarm/protocol');
    const sent = await connected.transport.sendFrame(
      encodeFp32Frame({ jobId: 'j', senderId: nodes[0]!.id, round: 0, values: randomVector(100_000, 3) }),
    );
    expect(sent.ok).toBe(true);
    expect(received).toEqual([100_000]);
    expect(coordinator.relayedBytes).toBeGreaterThan(400_000);
  });

  it('a link closed at either end closes at the other; a reset drops the mesh and answers pending dials', async () => {
    const { network, nodes } = bridgedSwarm(3);
    const [a] = await Promise.all(nodes.map(meshOf));
    const connected = await a!.connect(nodes[1]!.id);
    if (!connected.ok) throw new Error(connected.message);
    expect(nodes[0]!.host.linkCount).toBe(1);
    // The worker closes it: the page's link closes, and so does the peer's.
    connected.transport.link.close();
    await until('the page link closed', () => (nodes[0]!.host.linkCount === 0 ? true : null));
    await until("the peer's page link closed", () => (nodes[1]!.host.linkCount === 0 ? true : null));
    // The page's link closes (the peer went away): the worker's link closes.
    const again = await a!.connect(nodes[1]!.id);
    if (!again.ok) throw new Error(again.message);
    let closed = false;
    again.transport.link.onClose(() => (closed = true));
    nodes[1]!.host.close();
    await until('the worker link closed', () => (closed ? true : null));
    // A dial in flight when the page drops the identity resolves (failed) instead of hanging.
    network.kill(nodes[2]!.id);
    const dialing = a!.connect(nodes[2]!.id);
    nodes[0]!.host.close();
    await until('the mesh dropped', () => (nodes[0]!.worker.mesh === null ? true : null));
    const result = await dialing;
    expect(result.ok).toBe(false);
  });

  it('a new worker attached to the page gets a hello and a mesh of its own; the old links are closed', async () => {
    const { nodes } = bridgedSwarm(2);
    const [a] = await Promise.all(nodes.map(meshOf));
    const connected = await a!.connect(nodes[1]!.id);
    if (!connected.ok) throw new Error(connected.message);
    let oldClosed = false;
    connected.transport.link.onClose(() => (oldClosed = true));
    // The worker crashed; the page starts another and attaches it.
    const channel = new MessageChannel();
    const worker = new BridgedPorts(channel.port2, {
      mesh: { reportIntervalMs: 0 },
    });
    cleanups.push(() => (worker.close(), channel.port1.close(), channel.port2.close()));
    nodes[0]!.host.attach(channel.port1);
    const fresh = await until('the new mesh', () => worker.mesh);
    expect(fresh.nodeId).toBe(nodes[0]!.id);
    expect(nodes[0]!.host.linkCount).toBe(0);
    await until("the peer's old link closed", () => (nodes[1]!.host.linkCount === 0 ? true : null));
    const reconnected = await fresh.connect(nodes[1]!.id);
    expect(reconnected.ok).toBe(true);
    expect(oldClosed).toBe(false); // the old worker is gone; nothing more reaches it
  });
});
