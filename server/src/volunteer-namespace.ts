/**
 * The /volunteer socket.io namespace: join, heartbeats, self-test reports, and each volunteer's
 * view of the membership (a snapshot after join, then deltas to only the views a change touches).
 */
import type { Namespace, Socket } from 'socket.io';
import {
  PEERJS_KEY,
  PEERJS_PATH,
  PROTOCOL_VERSION,
  ProtocolError,
  unnamedLeaseGraceMs,
  VOLUNTEER_REQUESTS,
  type InterServerEvents,
  type JoinAccepted,
  type NodeInfo,
  type VolunteerClientToServer,
  type VolunteerServerToClient,
  type VolunteerSocketData,
} from '@tabswarm/protocol';
import type { ServerConfig } from './config.ts';
import type { EventLog } from './event-log.ts';
import { NO_WORK_RETRY_MS, type JobService } from './jobs/job-service.ts';
import type { Membership } from './membership.ts';
import { PeerSamples, type ViewDeltas } from './peer-samples.ts';
import { serve, type HandlerContext } from './socket-handler.ts';
import { checkProtocolVersion } from './version-check.ts';

export type VolunteerNamespace = Namespace<
  VolunteerClientToServer,
  VolunteerServerToClient,
  InterServerEvents,
  VolunteerSocketData
>;
type VolunteerSocket = Socket<
  VolunteerClientToServer,
  VolunteerServerToClient,
  InterServerEvents,
  VolunteerSocketData
>;

/** How often some members' samples are refreshed, and how many each time. */
const SAMPLE_REFRESH_MS = 1_000;
const SAMPLE_REFRESH_PER_TICK = 4;

/**
 * Sends to one volunteer by node id. True when its socket is on this process; otherwise the message
 * goes to its room, which reaches it on another coordinator when a cluster adapter is attached.
 */
export interface VolunteerChannel {
  send<E extends keyof VolunteerServerToClient>(
    nodeId: string,
    event: E,
    ...args: Parameters<VolunteerServerToClient[E]>
  ): boolean;
}

/** The socket.io room of one volunteer's connection, on whichever coordinator holds it. */
const nodeRoom = (nodeId: string): string => `node:${nodeId}`;

export function attachVolunteerNamespace(
  nsp: VolunteerNamespace,
  membership: Membership,
  jobs: JobService,
  events: EventLog,
  config: ServerConfig,
  ctx: HandlerContext,
): VolunteerChannel {
  const socketsByNode = new Map<string, VolunteerSocket>();
  /** Other coordinators share this one's events (a cluster adapter is attached). */
  const clustered = config.adapterUrl !== undefined;
  const samples = new PeerSamples();
  const sendDeltas = (deltas: ViewDeltas): void => {
    for (const [nodeId, delta] of deltas) socketsByNode.get(nodeId)?.emit('peersDelta', delta);
  };
  // A distrusted volunteer (validated work) leaves every peer view: nobody picks it as a partner.
  const member = (node: NodeInfo): boolean =>
    node.status === 'active' && node.trust?.standing !== 'distrusted';
  for (const node of membership.list()) {
    if (member(node)) samples.add({ nodeId: node.id, backend: node.capabilities.backend });
  }
  // Called on every heartbeat too: only a node becoming active, gone or distrusted changes the
  // samples. Those changes go to the other coordinators too (with a cluster adapter), so that a
  // volunteer's peers include the volunteers connected to them.
  membership.onChange((node) => {
    if (member(node) && !samples.has(node.id)) {
      const peer = { nodeId: node.id, backend: node.capabilities.backend };
      sendDeltas(samples.add(peer));
      if (clustered) nsp.serverSideEmit('peerSample', { op: 'add', peer });
    } else if (!member(node) && samples.has(node.id)) {
      sendDeltas(samples.remove(node.id));
      if (clustered) nsp.serverSideEmit('peerSample', { op: 'remove', nodeId: node.id });
    } else {
      return;
    }
    ctx.metrics.volunteersActive.set(samples.size);
  });
  nsp.on('peerSample', (change) => {
    if (change.op === 'add' && !samples.has(change.peer.nodeId)) sendDeltas(samples.add(change.peer));
    else if (change.op === 'remove' && samples.has(change.nodeId)) sendDeltas(samples.remove(change.nodeId));
  });
  const refresher = setInterval(
    () => sendDeltas(samples.refresh(SAMPLE_REFRESH_PER_TICK)),
    SAMPLE_REFRESH_MS,
  );
  refresher.unref();
  // Unref'd and stopped with the HTTP server; it holds nothing open.
  (nsp.server.httpServer as { once?(event: 'close', listener: () => void): unknown } | undefined)?.once?.(
    'close',
    () => clearInterval(refresher),
  );

  nsp.use(checkProtocolVersion);

  /**
   * The session token each connection was last given. A heartbeat renews it past half its life,
   * or at once when its session ended (the volunteer went silent past the timeout and came back).
   */
  const lastToken = new WeakMap<VolunteerSocket, { token: string; expiresAt: number; sessionId: string }>();
  const issueToken = (socket: VolunteerSocket, nodeId: string): string => {
    const issued = membership.sessionToken(nodeId);
    lastToken.set(socket, issued);
    return issued.token;
  };
  const renewedToken = (socket: VolunteerSocket, nodeId: string): string | undefined => {
    const last = lastToken.get(socket);
    const current =
      last !== undefined &&
      !membership.tokens.dueForRenewal(last.expiresAt) &&
      membership.currentSession(nodeId) === last.sessionId;
    return current ? undefined : issueToken(socket, nodeId);
  };

  nsp.on('connection', (socket) => {
    ctx.metrics.volunteersConnected.inc();
    const joined = (): string => {
      const nodeId = socket.data.nodeId;
      if (nodeId === undefined) throw new ProtocolError('NOT_JOINED', 'join first');
      return nodeId;
    };

    serve(socket, ctx, VOLUNTEER_REQUESTS, {
      join: (request): JoinAccepted => {
        if (socket.data.nodeId !== undefined)
          throw new ProtocolError('ALREADY_JOINED', 'this connection has joined already');
        if (request.protocolVersion !== PROTOCOL_VERSION) {
          throw new ProtocolError(
            'VERSION_MISMATCH',
            `server speaks protocol ${PROTOCOL_VERSION}, client ${request.protocolVersion}`,
          );
        }
        const { node, secret, resumed } = membership.join(request.capabilities, request.resume);
        const previous = socketsByNode.get(node.id);
        if (previous && previous !== socket) {
          // The same tab came back on a new connection; the old one is stale.
          previous.data.nodeId = undefined;
          previous.emit('fatal', {
            ok: false,
            code: 'ALREADY_JOINED',
            message: 'this node resumed on another connection',
          });
          previous.disconnect(true);
        }
        socket.data.nodeId = node.id;
        socketsByNode.set(node.id, socket);
        // Its room: what another coordinator sends it arrives through the cluster adapter.
        void socket.join(nodeRoom(node.id));
        ctx.log.info({ nodeId: node.id, resumed, backend: node.capabilities.backend }, 'volunteer joined');
        events.add('join', `${resumed ? 'resumed' : 'joined'} on ${node.capabilities.backend}`, {
          nodeId: node.id,
        });
        // Its view, once it has its id (the ack goes first); changes to it follow as deltas.
        setImmediate(() => socket.emit('peers', samples.view(node.id)));
        return {
          nodeId: node.id,
          secret,
          resumed,
          heartbeatIntervalMs: config.heartbeatIntervalMs,
          heartbeatTimeoutMs: config.heartbeatTimeoutMs,
          peerjs: { path: PEERJS_PATH, key: PEERJS_KEY, token: issueToken(socket, node.id) },
          iceServers: [...config.iceServers],
        };
      },
      heartbeat: (heartbeat) => {
        const nodeId = joined();
        membership.heartbeat(nodeId, heartbeat);
        // A heartbeat that names the volunteer's leases extends those; its other leases past the
        // grace go back to the queue. One that names none (older clients) extends them all.
        const released = jobs.scheduler.extendLeases(
          nodeId,
          heartbeat.leases === undefined
            ? undefined
            : { leaseIds: heartbeat.leases, graceMs: unnamedLeaseGraceMs(config.heartbeatIntervalMs) },
        );
        if (released.length > 0) {
          ctx.log.info(
            { nodeId, leases: released.map((l) => l.id) },
            'released leases the volunteer no longer names in its heartbeats',
          );
        }
        const sessionToken = renewedToken(socket, nodeId);
        return { serverTime: Date.now(), ...(sessionToken === undefined ? {} : { sessionToken }) };
      },
      requestLease: async (request) => {
        const lease = await jobs.lease(joined(), request.samplesPerSec);
        return { lease, retryAfterMs: lease ? 0 : NO_WORK_RETRY_MS };
      },
      completeLease: (completion) => jobs.complete(joined(), completion),
      releaseLease: (release) => {
        const nodeId = joined();
        const cannotRun = release.cannotRun === true;
        const { jobId } = jobs.release(nodeId, release.leaseId, release.reason, cannotRun);
        if (cannotRun) {
          events.add('error', `cannot run this job: ${release.reason ?? 'no reason given'}`, {
            jobId,
            nodeId,
            level: 'warn',
          });
        }
        return {};
      },
      selfTest: (report) => {
        const nodeId = joined();
        membership.recordSelfTest(nodeId, report);
        ctx.log.info({ nodeId, passed: report.passed, path: report.path }, 'kernel self-test');
        return {};
      },
    });

    socket.on('disconnect', (reason) => {
      ctx.metrics.volunteersConnected.dec();
      const nodeId = socket.data.nodeId;
      if (nodeId === undefined) return;
      if (socketsByNode.get(nodeId) !== socket) return; // replaced by a resumed connection
      socketsByNode.delete(nodeId);
      membership.disconnected(nodeId);
      // Its shards go back to the queue now; if it resumes and finishes one anyway, the first
      // completion of that shard still counts.
      jobs.scheduler.releaseNode(nodeId);
      ctx.log.info({ nodeId, reason }, 'volunteer disconnected');
      events.add('leave', `disconnected (${reason})`, { nodeId });
    });
  });

  return {
    send(nodeId, event, ...args) {
      const socket = socketsByNode.get(nodeId);
      if (!socket) {
        if (!clustered) return false;
        // Perhaps connected to another coordinator: the adapter delivers it there.
        nsp.to(nodeRoom(nodeId)).emit(event, ...args);
        return membership.get(nodeId)?.connected === true;
      }
      socket.emit(event, ...args);
      return true;
    },
  };
}
