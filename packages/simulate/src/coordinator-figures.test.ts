import { describe, expect, it } from 'vitest';
import {
  closedAfterEach,
  joinVolunteer,
  request,
  startServer,
  type RunningServer,
} from '../../../server/src/test-support.ts';
import {
  bucketBoundsMs,
  coordinatorFiguresFrom,
  mergeFigures,
  parsePrometheusText,
  quantileMs,
  readCoordinatorFigures,
} from './coordinator-figures.ts';

const METRICS = `# HELP tabswarm_request_duration_seconds Time from a socket.io request arriving to its ack
# TYPE tabswarm_request_duration_seconds histogram
tabswarm_request_duration_seconds_bucket{le="0.001",namespace="volunteer",request="requestLease"} 10
tabswarm_request_duration_seconds_bucket{le="0.005",namespace="volunteer",request="requestLease"} 60
tabswarm_request_duration_seconds_bucket{le="0.05",namespace="volunteer",request="requestLease"} 98
tabswarm_request_duration_seconds_bucket{le="1",namespace="volunteer",request="requestLease"} 100
tabswarm_request_duration_seconds_bucket{le="+Inf",namespace="volunteer",request="requestLease"} 100
tabswarm_request_duration_seconds_sum{namespace="volunteer",request="requestLease"} 0.9
tabswarm_request_duration_seconds_count{namespace="volunteer",request="requestLease"} 100
tabswarm_request_duration_seconds_bucket{le="+Inf",namespace="volunteer",request="join"} 7
tabswarm_request_duration_seconds_count{namespace="volunteer",request="join"} 7
# TYPE tabswarm_leases_total counter
tabswarm_leases_total{job="j1",event="issued"} 40
tabswarm_leases_total{job="j1",event="reissued"} 3
tabswarm_leases_total{job="j1",event="expired"} 2
tabswarm_leases_total{job="j1",event="late"} 1
tabswarm_leases_total{job="j2",event="reissued"} 5
tabswarm_shards_done_total{job="j1"} 36
tabswarm_validation_rejections_total{job="j1",reason="samples"} 1
tabswarm_gossip_rejected_frames_total{reason="NORM"} 4
tabswarm_gossip_rejected_frames_total{reason="LENGTH"} 1
tabswarm_gossip_rejected_frames{reason="NORM"} 99
tabswarm_gossip_exchange_bytes_total{job="j1",codec="fp16"} 1000
tabswarm_gossip_exchange_bytes_total{job="j2",codec="fp32"} 5000
tabswarm_gossip_exchanges_total{job="j1",outcome="ok",codec="fp16"} 12
tabswarm_relay_bytes_total 2048
tabswarm_odd{msg="a \\"quoted\\" value"} 1 1700000000000
`;

describe('coordinator figures from /metrics text', () => {
  it('parses samples, labels with escapes, +Inf and timestamps; skips comments', () => {
    const samples = parsePrometheusText(METRICS);
    expect(samples.find((s) => s.name === 'tabswarm_odd')).toEqual({
      name: 'tabswarm_odd',
      labels: { msg: 'a "quoted" value' },
      value: 1,
    });
    expect(samples.some((s) => s.name.startsWith('#'))).toBe(false);
  });

  it('sums counters over jobs, or one job, and reads the lease histogram', () => {
    const all = coordinatorFiguresFrom(METRICS);
    expect(all).toMatchObject({
      leasesIssued: 40,
      shardsReissued: 8,
      leasesExpired: 2,
      shardsDone: 36,
      duplicatesRejected: 1,
      validationRejections: 1,
      rejectedFrames: 5,
      exchangeBytes: 6000,
      exchanges: 12,
      relayBytes: 2048,
    });
    expect(coordinatorFiguresFrom(METRICS, 'j1')).toMatchObject({
      shardsReissued: 3,
      exchangeBytes: 1000,
      relayBytes: 2048,
    });
    expect(all.leaseLatency.count).toBe(100);
    expect(all.leaseLatency.buckets.map((b) => b.le)).toEqual([0.001, 0.005, 0.05, 1, Infinity]);
    expect(bucketBoundsMs(all.leaseLatency)).toEqual([1, 5, 50, 1000]);
    expect(all.leaseLatencyMs).toEqual({ p50: 5, p99: 1000 });
  });

  it('takes quantiles as the upper bound of their bucket', () => {
    const h = coordinatorFiguresFrom(METRICS).leaseLatency;
    expect(quantileMs(h, 0.5)).toBe(5);
    expect(quantileMs(h, 0.1)).toBe(1);
    expect(quantileMs(h, 0.99)).toBe(1000);
    expect(quantileMs({ buckets: [], count: 0, sum: 0 }, 0.5)).toBeNull();
    const slow = {
      buckets: [
        { le: 1, count: 0 },
        { le: Infinity, count: 4 },
      ],
      count: 4,
      sum: 20,
    };
    expect(quantileMs(slow, 0.5)).toBe(Infinity);
  });

  it('adds up the readings of two coordinator lifetimes', () => {
    const a = coordinatorFiguresFrom(METRICS);
    const merged = mergeFigures(a, a);
    expect(merged.shardsReissued).toBe(16);
    expect(merged.leaseLatency.count).toBe(200);
    expect(merged.leaseLatency.buckets.find((b) => b.le === 0.005)?.count).toBe(120);
    expect(quantileMs(merged.leaseLatency, 0.5)).toBe(5);
    expect(merged.leaseLatencyMs).toEqual({ p50: 5, p99: 1000 });
  });
});

describe('readCoordinatorFigures against a real coordinator', () => {
  const track = closedAfterEach<RunningServer>();
  it('sees the lease requests it answered', async () => {
    const running = track(await startServer());
    const before = await readCoordinatorFigures(running.url);
    const volunteer = running.volunteer();
    await joinVolunteer(volunteer);
    for (let i = 0; i < 3; i++) await request(volunteer, 'requestLease', {});
    const after = await readCoordinatorFigures(`${running.url}/`);
    expect(after.leaseLatency.count - before.leaseLatency.count).toBe(3);
    expect(quantileMs(after.leaseLatency, 0.99)).toBeGreaterThan(0);
  });
});
