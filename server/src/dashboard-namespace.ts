/** The /dashboard socket.io namespace: a snapshot on subscribe, then every node and job change. */
import type { Namespace } from 'socket.io';
import {
  DASHBOARD_REQUESTS,
  PROTOCOL_VERSION,
  ProtocolError,
  type DashboardClientToServer,
  type DashboardServerToClient,
  type DashboardSocketData,
  type InterServerEvents,
  type JobInfo,
} from '@tabswarm/protocol';
import type { EventLog } from './event-log.ts';
import type { JobService } from './jobs/job-service.ts';
import type { Membership } from './membership.ts';
import { serve, type HandlerContext } from './socket-handler.ts';
import { checkProtocolVersion } from './version-check.ts';

export type DashboardNamespace = Namespace<
  DashboardClientToServer,
  DashboardServerToClient,
  InterServerEvents,
  DashboardSocketData
>;

const SUBSCRIBERS_ROOM = 'subscribers';

export interface DashboardChannel {
  jobChanged(job: JobInfo): void;
}

export function attachDashboardNamespace(
  nsp: DashboardNamespace,
  membership: Membership,
  jobs: JobService,
  events: EventLog,
  ctx: HandlerContext,
): DashboardChannel {
  membership.onChange((node) => nsp.to(SUBSCRIBERS_ROOM).emit('nodeUpdate', node));
  events.onEvent((event) => nsp.to(SUBSCRIBERS_ROOM).emit('logEvent', event));
  nsp.use(checkProtocolVersion);
  nsp.on('connection', (socket) => {
    ctx.metrics.dashboardsConnected.inc();
    serve(socket, ctx, DASHBOARD_REQUESTS, {
      subscribe: (request) => {
        if (request.protocolVersion !== PROTOCOL_VERSION) {
          throw new ProtocolError('VERSION_MISMATCH', `server speaks protocol ${PROTOCOL_VERSION}`);
        }
        socket.data.subscribed = true;
        void socket.join(SUBSCRIBERS_ROOM);
        return { nodes: membership.list(), jobs: jobs.list(), serverTime: Date.now() };
      },
    });
    socket.on('disconnect', () => ctx.metrics.dashboardsConnected.dec());
  });
  return {
    jobChanged(job) {
      nsp.to(SUBSCRIBERS_ROOM).emit('jobUpdate', job);
    },
  };
}
