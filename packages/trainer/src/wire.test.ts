import { describe, expect, it } from 'vitest';
import { jobInfo, jobSpec } from './test-support.ts';
import {
  parseCheckpointRequest,
  parseDatasetShape,
  parseJobInfo,
  parseLeaseCancelled,
  parseLeaseGrant,
} from './wire.ts';

const lease = {
  leaseId: 'lease-0123456789abcdef',
  jobId: 'job-0123456789ab',
  datasetId: 'mnist',
  epoch: 0,
  shard: 3,
  start: 4800,
  end: 6400,
  deadline: 1_700_000_000_000,
  speculative: false,
  samplesUrl: '/api/datasets/mnist/samples?split=train&start=4800&end=6400',
};

describe('wire checks', () => {
  it('accepts a lease grant and refuses broken ones', () => {
    expect(parseLeaseGrant(lease)).toEqual(lease);
    expect(parseLeaseGrant({ ...lease, leaseId: 'x' })).toBeNull();
    expect(parseLeaseGrant({ ...lease, end: 4800 })).toBeNull();
    expect(parseLeaseGrant({ ...lease, samplesUrl: 'http://evil.example/' })).toBeNull();
    expect(parseLeaseGrant({ ...lease, epoch: -1 })).toBeNull();
    expect(parseLeaseGrant(null)).toBeNull();
  });

  it('accepts a checkpoint request only for the coordinator upload route of its job', () => {
    const request = {
      jobId: 'job-0123456789ab',
      requestId: '0123456789abcdef',
      uploadUrl: '/api/jobs/job-0123456789ab/checkpoint-uploads/0123456789abcdef',
      token: 'abc',
      deadline: 5,
    };
    expect(parseCheckpointRequest(request)).toEqual(request);
    expect(parseCheckpointRequest({ ...request, uploadUrl: '//evil.example/api/jobs/x' })).toBeNull();
    expect(parseCheckpointRequest({ ...request, jobId: 'job-other' })).toBeNull();
    expect(parseCheckpointRequest({ ...request, token: '' })).toBeNull();
  });

  it('reads cancellations, jobs and dataset shapes', () => {
    expect(parseLeaseCancelled({ leaseId: lease.leaseId, reason: 'done' })).toEqual({
      leaseId: lease.leaseId,
      reason: 'done',
    });
    expect(parseLeaseCancelled({ leaseId: 'nope' })).toBeNull();
    const job = jobInfo('job-0123456789ab', jobSpec(), 101_770);
    expect(parseJobInfo(JSON.parse(JSON.stringify(job)))?.spec.training.batchSize).toBe(32);
    expect(parseJobInfo({ ...job, spec: { name: '' } })).toBeNull();
    expect(parseJobInfo({ ...job, status: 'sleeping' })).toBeNull();
    expect(parseDatasetShape({ featureShape: [28, 28, 1], numClasses: 10, name: 'MNIST' })).toEqual({
      featureShape: [28, 28, 1],
      numClasses: 10,
      name: 'MNIST',
    });
    expect(parseDatasetShape({ featureShape: [0], numClasses: 10 })).toBeNull();
    expect(parseDatasetShape({ featureShape: [4], numClasses: 1 })).toBeNull();
  });
});
