/** Prometheus metrics on a registry per server instance, so tests can run several servers. */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

export interface ServerMetrics {
  readonly registry: Registry;
  readonly volunteersConnected: Gauge;
  readonly volunteersActive: Gauge;
  readonly dashboardsConnected: Gauge;
  readonly socketEvents: Counter<'namespace' | 'event' | 'outcome'>;
}

export function createMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tabswarm_' });
  return {
    registry,
    volunteersConnected: new Gauge({
      name: 'tabswarm_volunteers_connected',
      help: 'Volunteer sockets currently connected',
      registers: [registry],
    }),
    volunteersActive: new Gauge({
      name: 'tabswarm_volunteers_active',
      help: 'Volunteers currently marked active (heard from within the heartbeat timeout)',
      registers: [registry],
    }),
    dashboardsConnected: new Gauge({
      name: 'tabswarm_dashboards_connected',
      help: 'Dashboard sockets currently connected',
      registers: [registry],
    }),
    socketEvents: new Counter({
      name: 'tabswarm_socket_events_total',
      help: 'socket.io events received, by namespace, event and outcome (ok or the error code)',
      labelNames: ['namespace', 'event', 'outcome'],
      registers: [registry],
    }),
  };
}
