import { describe, expect, it } from 'vitest';
import { jobSpecSchema } from './job-spec.ts';
import { parseReply, readReply, REST_REPLIES, type RestRoute } from './rest.ts';
import { validCapabilities } from './schemas.test.ts';

const JOB_ID = 'job-0123456789ab';
const NODE_ID = 'node0123456789';

const job = {
  id: JOB_ID,
  name: 'digits',
  spec: jobSpecSchema.parse({ name: 'digits' }),
  status: 'running',
  statusReason: null,
  createdAt: 1,
  startedAt: 2,
  finishedAt: null,
  trainSize: 60_000,
  shardSize: 1_600,
  shardCount: 38,
  totalShards: 76,
  epochsOpened: 1,
  shardsDone: 3,
  samplesDone: 4_800,
  activeLeases: 2,
  samplesPerSecond: 120.5,
  parameterCount: 101_770,
  latestCheckpoint: { seq: 1, createdAt: 3, shardsDone: 2, accuracy: 0.9, loss: 0.3 },
};
const node = {
  id: NODE_ID,
  status: 'active',
  state: 'working',
  capabilities: validCapabilities,
  selfTest: null,
  health: null,
  joinedAt: 1,
  lastSeenAt: 2,
  connected: true,
};
const links = { nodeId: NODE_ID, reportedAt: 1, links: [], quarantined: [] };
const dataset = {
  id: 'mnist',
  name: 'MNIST',
  source: 'builtin',
  featureShape: [28, 28, 1],
  numClasses: 10,
  trainSize: 60_000,
  testSize: 10_000,
};
const upload = {
  uploadId: 'upload-0123',
  phase: 'done',
  receivedBytes: 10,
  totalBytes: 10,
  datasetId: 'mnist',
  startedAt: 1,
  updatedAt: 2,
};

/** A well-formed reply per route, as the coordinator sends it: a route without one does not compile. */
const VALID = {
  'GET /healthz': { ok: true, volunteersActive: 2 },
  'GET /api/nodes': { nodes: [node], serverTime: 5 },
  'GET /api/credit': {
    contributors: [
      {
        nodeId: 'node-1',
        label: null,
        trust: 0.6,
        standing: 'trusted',
        valid: 2,
        invalid: 0,
        inconclusive: 0,
        credit: 3200,
      },
    ],
  },
  'GET /api/credit/:nodeId': { nodeId: 'node-1', trust: null },
  'GET /api/jobs': { jobs: [job] },
  'POST /api/jobs': { job },
  'GET /api/jobs/:jobId': { job },
  'POST /api/jobs/:jobId/:action': { job },
  'GET /api/jobs/:jobId/metrics': {
    checkpoints: [job.latestCheckpoint],
    training: [{ t: 1, loss: 0.5, samples: 1_600, counted: 1, nodeId: NODE_ID }],
    trainingTotal: 1,
    samplesPerSecond: 10,
  },
  'GET /api/jobs/:jobId/checkpoints': { checkpoints: [job.latestCheckpoint] },
  'POST /api/jobs/:jobId/checkpoint-uploads/:requestId': { ok: true, accepted: true },
  'GET /api/jobs/:jobId/consensus': {
    jobId: JOB_ID,
    bucketMs: 5_000,
    buckets: [{ at: 0, exchanges: 2, ok: 1, meanDistance: 0.1, maxDistance: 0.2, bytes: 100 }],
    points: [],
    totals: { exchanges: 2, byOutcome: { ok: 1, busy: 1 }, bytesByCodec: { fp32: 100 } },
  },
  'GET /api/jobs/:jobId/fedavg': { round: 3, open: null, lastParticipants: 2 },
  'GET /api/events': {
    events: [{ seq: 1, at: 1, kind: 'join', level: 'info', jobId: null, nodeId: NODE_ID, message: 'joined' }],
  },
  'GET /api/gossip/links': { nodes: [links], serverTime: 5 },
  'GET /api/gossip/links/:nodeId': links,
  'GET /api/datasets': { ok: true, datasets: [dataset] },
  'GET /api/datasets/:id': { ok: true, dataset },
  'POST /api/datasets': { ok: true, dataset, uploadId: 'upload-0123' },
  'GET /api/datasets/uploads/:uploadId': { ok: true, upload },
} satisfies Record<RestRoute, object>;

const routes = Object.keys(REST_REPLIES) as RestRoute[];

describe('REST reply parsers', () => {
  it('accept every route’s well-formed reply, JSON round-tripped', () => {
    for (const route of routes) {
      const parsed = parseReply(route, JSON.parse(JSON.stringify(VALID[route])));
      expect(parsed.ok, `${route}: ${parsed.ok ? '' : parsed.error.message}`).toBe(true);
    }
  });

  it('reject malformed JSON of every route with a BAD_PAYLOAD error naming the route', () => {
    for (const route of routes) {
      const valid: Record<string, unknown> = VALID[route];
      const malformed: unknown[] = [
        null,
        'ok',
        [],
        ...Object.keys(valid).map((key) => ({ ...valid, [key]: { wrong: true } })),
      ];
      for (const body of malformed) {
        const parsed = parseReply(route, body);
        expect(parsed.ok, `${route} accepted ${JSON.stringify(body)}`).toBe(false);
        if (!parsed.ok) {
          expect(parsed.error.code).toBe('BAD_PAYLOAD');
          expect(parsed.error.source).toBe(route);
        }
      }
    }
  });

  it('throw the PayloadError from readReply, with the path of the first problem', () => {
    expect(() => readReply('GET /api/jobs', { jobs: [{ ...job, status: 'sleeping' }] })).toThrow(
      /GET \/api\/jobs: jobs\.0\.status/,
    );
  });
});
