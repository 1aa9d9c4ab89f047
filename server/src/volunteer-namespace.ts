/** The /volunteer socket.io namespace: join, heartbeats, self-test reports, peer lists. */
import type { Namespace, Socket } from 'socket.io';
import {
  PEERJS_KEY,
  PEERJS_PATH,
  PROTOCOL_VERSION,
  ProtocolError,
  VOLUNTEER_REQUESTS,
  type InterServerEvents,
  type JoinAccepted,
  type VolunteerClientToServer,
  type VolunteerServerToClient,
  type VolunteerSocketData,
} from '@tabswarm/protocol';
import type { ServerConfig } from './config.ts';
import type { EventLog } from './event-log.ts';
import { NO_WORK_RETRY_MS, type JobService } from './jobs/job-service.ts';
import type { Membership } from './membership.ts';
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

const MEMBERS_ROOM = 'members';

/** Sends to one volunteer by node id, if it is connected. */
export interface VolunteerChannel {
  send<E extends keyof VolunteerServerToClient>(
    nodeId: string,
    event: E,
    ...args: Parameters<VolunteerServerToClient[E]>
  ): boolean;
}

export function attachVolunteerNamespace(
  nsp: VolunteerNamespace,
  membership: Membership,
  jobs: JobService,
  events: EventLog,
  config: ServerConfig,
  ctx: HandlerContext,
): VolunteerChannel {
  const socketsByNode = new Map<string, VolunteerSocket>();
  let lastPeers = '';

  const broadcastPeersIfChanged = (): void => {
    const peers = membership.activePeers();
    const key = peers.map((p) => p.nodeId).join(',');
    if (key === lastPeers) return;
    lastPeers = key;
    nsp.to(MEMBERS_ROOM).emit('peers', peers);
  };
  membership.onChange(() => {
    ctx.metrics.volunteersActive.set(membership.activeCount());
    broadcastPeersIfChanged();
  });

  nsp.use(checkProtocolVersion);

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
        void socket.join(MEMBERS_ROOM);
        ctx.log.info({ nodeId: node.id, resumed, backend: node.capabilities.backend }, 'volunteer joined');
        events.add('join', `${resumed ? 'resumed' : 'joined'} on ${node.capabilities.backend}`, {
          nodeId: node.id,
        });
        // The joiner did not hear earlier peer broadcasts: send it the list once it has its id.
        setImmediate(() => socket.emit('peers', membership.activePeers()));
        return {
          nodeId: node.id,
          secret,
          resumed,
          heartbeatIntervalMs: config.heartbeatIntervalMs,
          heartbeatTimeoutMs: config.heartbeatTimeoutMs,
          peerjs: { path: PEERJS_PATH, key: PEERJS_KEY, token: membership.peerToken(node.id) },
          iceServers: [...config.iceServers],
        };
      },
      heartbeat: (heartbeat) => {
        const nodeId = joined();
        membership.heartbeat(nodeId, heartbeat);
        jobs.scheduler.extendLeases(nodeId);
        return { serverTime: Date.now() };
      },
      requestLease: (request) => {
        const lease = jobs.lease(joined(), request.samplesPerSec);
        return { lease, retryAfterMs: lease ? 0 : NO_WORK_RETRY_MS };
      },
      completeLease: (completion) => jobs.complete(joined(), completion),
      releaseLease: (release) => {
        jobs.release(joined(), release.leaseId);
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
      if (!socket) return false;
      socket.emit(event, ...args);
      return true;
    },
  };
}
