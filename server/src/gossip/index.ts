/**
 * Gossip averaging on the coordinator, composed in one place: the socket.io relay, link reports,
 * the consensus series, FedAvg rounds, their socket handlers, REST routes and metrics.
 * create-server.ts wires it (see the wiring notes in the change that added this directory).
 */
import type { Socket } from 'socket.io';
import {
  decodeFrame,
  frameValues,
  ProtocolError,
  VOLUNTEER_REQUESTS,
  type ConsensusPoint,
  type InterServerEvents,
  type NodeLinks,
  type VolunteerClientToServer,
  type VolunteerServerToClient,
  type VolunteerSocketData,
} from '@tabswarm/protocol';
import type express from 'express';
import { serve, type HandlerContext } from '../socket-handler.ts';
import type { JobService } from '../jobs/job-service.ts';
import type { Checkpointing } from '../jobs/checkpointing.ts';
import type { Membership } from '../membership.ts';
import type { VolunteerChannel } from '../volunteer-namespace.ts';
import { ConsensusLog, type ConsensusOptions } from './consensus.ts';
import { FedAvgRounds, type FedAvgDeps, type FedAvgJob } from './fedavg.ts';
import { LinkRegistry } from './link-registry.ts';
import { createGossipMetrics, type GossipMetrics } from './metrics.ts';
import { RelayService, type RelayOptions } from './relay.ts';
import { gossipJobRoutes, gossipRoutes } from './routes.ts';

export { ConsensusLog } from './consensus.ts';
export { FedAvgRounds } from './fedavg.ts';
export { LinkRegistry } from './link-registry.ts';
export { RelayService, DEFAULT_RELAY_OPTIONS } from './relay.ts';

type VolunteerSocket = Socket<
  VolunteerClientToServer,
  VolunteerServerToClient,
  InterServerEvents,
  VolunteerSocketData
>;

/** What gossip needs to know about jobs. */
export interface GossipJobs {
  exists(jobId: string): boolean;
  fedAvgJob(jobId: string): FedAvgJob | undefined;
  expectedParticipants(jobId: string): number;
  /** The latest checkpoint's parameters, that FedAvg's first round is measured from; null if none. */
  referenceValues(jobId: string): Promise<Float32Array | null>;
  /** Samples of the volunteer's counted completions on the job: its FedAvg weight. */
  countedSamples(jobId: string, nodeId: string): number;
  /** Outvoted by validated work: no FedAvg upload, and not expected in a round. */
  distrusted(nodeId: string): boolean;
  /** The loss screen's scores of a FedAvg round's uploads (the rule's lossScreenSamples); undefined: none. */
  screeningLosses: NonNullable<FedAvgDeps['screeningLosses']>;
}

export interface GossipCoordinatorDeps {
  readonly membership: Pick<Membership, 'isActive' | 'get' | 'verifySession'>;
  /** The volunteer namespace's channel; a getter, as the composition root creates it after this. */
  readonly channel: () => VolunteerChannel;
  readonly jobs: GossipJobs;
  /** The volunteer namespace's handler context (metrics, log). */
  readonly ctx: HandlerContext;
  /** Dashboards: a volunteer's latest links, and each exchange report. */
  readonly onLinks?: (links: NodeLinks) => void;
  readonly onConsensus?: (point: ConsensusPoint) => void;
  readonly relay?: Partial<RelayOptions>;
  readonly consensus?: Partial<ConsensusOptions>;
}

export interface GossipCoordinator {
  readonly relay: RelayService;
  readonly links: LinkRegistry;
  readonly consensus: ConsensusLog;
  readonly fedavg: FedAvgRounds;
  readonly metrics: GossipMetrics;
  /** Registers the gossip events on a volunteer socket (call on every connection). */
  attach(socket: VolunteerSocket): void;
  /** Mount at /api/jobs/:jobId: consensus series and FedAvg uploads. */
  readonly jobRouter: express.Router;
  /** Mount at /api/gossip: link reports. */
  readonly router: express.Router;
  close(): void;
}

/** GossipJobs over the coordinator's job service and checkpoints. */
export function gossipJobs(
  jobs: JobService,
  membership: Pick<Membership, 'get'>,
  checkpoints: () => Checkpointing,
): GossipJobs {
  const distrusted = (nodeId: string): boolean => jobs.scheduler.validation.isDistrusted(nodeId);
  const live = (nodeId: string): boolean => {
    const node = membership.get(nodeId);
    return node?.status === 'active' && node.connected && !distrusted(nodeId);
  };
  return {
    exists: (jobId) => jobs.scheduler.getJob(jobId) !== undefined,
    fedAvgJob(jobId) {
      const job = jobs.scheduler.getJob(jobId);
      if (job === undefined) return undefined;
      return {
        parameterCount: checkpoints().parameterCount(jobId),
        averaging: job.spec.averaging,
        running: job.status === 'running',
      };
    },
    expectedParticipants(jobId) {
      const nodes = new Set([
        ...jobs.scheduler.activeLeases(jobId).map((l) => l.nodeId),
        ...jobs.scheduler.recentWorkers(jobId, 64),
      ]);
      return [...nodes].filter(live).length;
    },
    async referenceValues(jobId) {
      const latest = await checkpoints().latestFrame(jobId);
      const frame = latest === null ? null : decodeFrame(latest.frame);
      return frame?.ok === true ? frameValues(frame).slice() : null;
    },
    countedSamples(jobId, nodeId) {
      let samples = 0;
      for (const c of jobs.scheduler.completions(jobId))
        if (c.nodeId === nodeId && c.counted === 1) samples += c.samples;
      return samples;
    },
    distrusted,
    screeningLosses: (jobId, rule, uploads) => checkpoints().screeningLosses(jobId, rule, uploads),
  };
}

export function createGossipCoordinator(deps: GossipCoordinatorDeps): GossipCoordinator {
  const { ctx } = deps;
  const metrics = createGossipMetrics(ctx.metrics.registry);
  const links = new LinkRegistry(metrics);
  const consensus = new ConsensusLog(deps.consensus, metrics);
  const relay = new RelayService(
    {
      isActive: (nodeId) => deps.membership.isActive(nodeId),
      deliver: (to, from, data) => deps.channel().send(to, 'relayed', { from, data }),
      metrics,
    },
    deps.relay,
  );
  const fedavg = new FedAvgRounds({
    job: (jobId) => deps.jobs.fedAvgJob(jobId),
    expectedParticipants: (jobId) => deps.jobs.expectedParticipants(jobId),
    referenceValues: (jobId) => deps.jobs.referenceValues(jobId),
    countedSamples: (jobId, nodeId) => deps.jobs.countedSamples(jobId, nodeId),
    distrusted: (nodeId) => deps.jobs.distrusted(nodeId),
    screeningLosses: (jobId, rule, uploads) => deps.jobs.screeningLosses(jobId, rule, uploads),
    onRejected: (jobId, _nodeId, code) =>
      ctx.metrics.validationRejections.inc({ job: jobId, reason: `fedavg_${code.toLowerCase()}` }),
    metrics,
    log: ctx.log,
  });
  if (deps.onLinks) links.onChange(deps.onLinks);
  if (deps.onConsensus) consensus.onPoint(deps.onConsensus);

  const attach = (socket: VolunteerSocket): void => {
    const joined = (): string => {
      const nodeId = socket.data.nodeId;
      if (nodeId === undefined) throw new ProtocolError('NOT_JOINED', 'join first');
      return nodeId;
    };
    serve(socket, ctx, VOLUNTEER_REQUESTS, {
      linkReport: (report) => {
        links.record(joined(), report);
        return {};
      },
      exchangeReport: (report) => {
        const nodeId = joined();
        if (!deps.jobs.exists(report.jobId)) throw new ProtocolError('UNKNOWN_JOB', `no job ${report.jobId}`);
        consensus.record(nodeId, report);
        const bytes = ctx.metrics.averagingBytes;
        bytes.inc({ job: report.jobId, mode: 'gossip', direction: 'sent' }, report.bytesOut);
        bytes.inc({ job: report.jobId, mode: 'gossip', direction: 'received' }, report.bytesIn);
        links.countAveraging(nodeId, report.bytesOut, report.bytesIn);
        return {};
      },
      // Acknowledged once forwarded (after pacing); a refusal comes back as its error reply.
      relay: async ({ to, data }) => {
        const forwarded = await relay.relay(joined(), to, data);
        if (!forwarded.ok) throw new ProtocolError(forwarded.code, forwarded.message);
        return { queuedMs: forwarded.queuedMs };
      },
    });
    socket.on('disconnect', () => {
      const nodeId = socket.data.nodeId;
      if (nodeId !== undefined) relay.forget(nodeId);
    });
  };

  return {
    relay,
    links,
    consensus,
    fedavg,
    metrics,
    attach,
    jobRouter: gossipJobRoutes({
      consensus,
      fedavg,
      links,
      jobExists: (jobId) => deps.jobs.exists(jobId),
      maxUploadBytes: (jobId) => (deps.jobs.fedAvgJob(jobId)?.parameterCount ?? 0) * 4 + 1024,
      verifyNode: (nodeId, token) => deps.membership.verifySession(nodeId, token),
      countFedAvgBytes: (jobId, nodeId, sent, received) => {
        links.countAveraging(nodeId, sent, received);
        ctx.metrics.averagingBytes.inc({ job: jobId, mode: 'fedavg', direction: 'sent' }, sent);
        ctx.metrics.averagingBytes.inc({ job: jobId, mode: 'fedavg', direction: 'received' }, received);
      },
      onError: (err) => ctx.log.error({ err }, 'gossip request failed'),
    }),
    router: gossipRoutes(links),
    close() {
      relay.close();
      fedavg.close();
    },
  };
}
