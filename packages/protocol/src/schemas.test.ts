import { describe, expect, it } from 'vitest';
import {
  capabilitiesSchema,
  heartbeatSchema,
  joinRequestSchema,
  MAX_HEARTBEAT_LEASES,
  parsePayload,
  selfTestReportSchema,
  unnamedLeaseGraceMs,
  VOLUNTEER_REQUEST_TIMEOUT_MS,
} from './schemas.ts';
import { PROTOCOL_VERSION } from './version.ts';

export const validCapabilities = {
  backend: 'webgpu',
  adapter: {
    vendor: 'google',
    architecture: 'swiftshader',
    device: '',
    description: '',
    isFallbackAdapter: false,
    limits: { maxStorageBufferBindingSize: 134217728 },
  },
  fallbackReason: null,
  userAgent: 'test',
} as const;

describe('payload schemas', () => {
  it('accepts a well-formed join', () => {
    const result = parsePayload(joinRequestSchema, {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: validCapabilities,
    });
    expect(result.ok).toBe(true);
  });

  it('names the offending field in the message', () => {
    const result = parsePayload(joinRequestSchema, {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: { ...validCapabilities, backend: 'tpu' },
    });
    expect(result).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    if (!result.ok) expect(result.message).toMatch(/^capabilities\.backend: backend must be one of/);
  });

  it('rejects wrong types, missing fields, unknown fields and oversized strings', () => {
    const cases: unknown[] = [
      null,
      42,
      'join',
      { protocolVersion: '1', capabilities: validCapabilities },
      { protocolVersion: PROTOCOL_VERSION },
      { protocolVersion: PROTOCOL_VERSION, capabilities: validCapabilities, extra: 1 },
      {
        protocolVersion: PROTOCOL_VERSION,
        capabilities: { ...validCapabilities, userAgent: 'x'.repeat(10_000) },
      },
      {
        protocolVersion: PROTOCOL_VERSION,
        capabilities: validCapabilities,
        resume: { nodeId: 'a b', secret: 'x' },
      },
    ];
    for (const c of cases) expect(parsePayload(joinRequestSchema, c).ok).toBe(false);
  });

  it('takes a bounded list of lease ids in heartbeats, or none at all', () => {
    const id = (n: number) => `lease-${n.toString(16).padStart(16, '0')}`;
    const beat = (leases: unknown) => parsePayload(heartbeatSchema, { state: 'working', uptimeS: 1, leases });
    expect(beat(undefined).ok).toBe(true);
    expect(beat([]).ok).toBe(true);
    expect(beat(Array.from({ length: MAX_HEARTBEAT_LEASES }, (_, i) => id(i))).ok).toBe(true);
    const bad = [
      Array.from({ length: MAX_HEARTBEAT_LEASES + 1 }, (_, i) => id(i)),
      [id(1), 'lease-x'],
      ['x'.repeat(100_000)],
      [null],
      id(1),
      { 0: id(1) },
    ];
    for (const leases of bad) expect(beat(leases).ok).toBe(false);
    expect(unnamedLeaseGraceMs(2_000)).toBeGreaterThanOrEqual(VOLUNTEER_REQUEST_TIMEOUT_MS + 2 * 2_000);
  });

  it('rejects non-finite numbers in heartbeats and self-test reports', () => {
    expect(parsePayload(heartbeatSchema, { state: 'idle', uptimeS: Infinity }).ok).toBe(false);
    expect(parsePayload(heartbeatSchema, { state: 'idle', uptimeS: -1 }).ok).toBe(false);
    expect(parsePayload(heartbeatSchema, { state: 'idle', uptimeS: 3 }).ok).toBe(true);
    const report = {
      kernel: 'mix',
      passed: true,
      path: 'webgpu',
      elements: 10,
      maxAbsError: 0,
      durationMs: 1,
      error: null,
    };
    expect(parsePayload(selfTestReportSchema, report).ok).toBe(true);
    expect(parsePayload(selfTestReportSchema, { ...report, durationMs: NaN }).ok).toBe(false);
  });

  it('caps the number of adapter limits', () => {
    const limits = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`l${i}`, i]));
    const caps = { ...validCapabilities, adapter: { ...validCapabilities.adapter, limits } };
    expect(capabilitiesSchema.safeParse(caps).success).toBe(false);
  });
});
