/** The /dashboard socket.io namespace: a snapshot on subscribe, then every membership change. */
import type { Namespace } from 'socket.io';
import {
  dashboardSubscribeSchema,
  PROTOCOL_VERSION,
  ProtocolError,
  type DashboardClientToServer,
  type DashboardServerToClient,
  type DashboardSocketData,
  type InterServerEvents,
} from '@tabswarm/protocol';
import type { Membership } from './membership.ts';
import { guarded, type HandlerContext } from './socket-handler.ts';
import { checkProtocolVersion } from './version-check.ts';

export type DashboardNamespace = Namespace<
  DashboardClientToServer,
  DashboardServerToClient,
  InterServerEvents,
  DashboardSocketData
>;

const SUBSCRIBERS_ROOM = 'subscribers';

export function attachDashboardNamespace(
  nsp: DashboardNamespace,
  membership: Membership,
  ctx: HandlerContext,
): void {
  membership.onChange((node) => nsp.to(SUBSCRIBERS_ROOM).emit('nodeUpdate', node));
  nsp.use(checkProtocolVersion);
  nsp.on('connection', (socket) => {
    ctx.metrics.dashboardsConnected.inc();
    socket.on(
      'subscribe',
      guarded(ctx, 'subscribe', dashboardSubscribeSchema, (request) => {
        if (request.protocolVersion !== PROTOCOL_VERSION) {
          throw new ProtocolError('VERSION_MISMATCH', `server speaks protocol ${PROTOCOL_VERSION}`);
        }
        socket.data.subscribed = true;
        void socket.join(SUBSCRIBERS_ROOM);
        return { nodes: membership.list(), serverTime: Date.now() };
      }),
    );
    socket.on('disconnect', () => ctx.metrics.dashboardsConnected.dec());
  });
}
