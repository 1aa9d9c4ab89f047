import { describe, expect, it } from 'vitest';
import type { JobMetrics } from './api.ts';
import { csvField, csvRow, METRICS_CSV_COLUMNS, metricsCsv } from './csv-export.ts';

describe('CSV export', () => {
  it('quotes only what needs quoting', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
    expect(csvField(Number.NaN)).toBe('');
    expect(csvField(0.125)).toBe('0.125');
    expect(csvRow(['x', 1, null, true])).toBe('x,1,,true');
  });

  it('writes a header, checkpoint rows by seq, then every completion', () => {
    const metrics: JobMetrics = {
      checkpoints: [
        { seq: 1, createdAt: Date.UTC(2024, 0, 1, 0, 0, 10), shardsDone: 2, accuracy: 0.5, loss: 1.25 },
        { seq: 0, createdAt: Date.UTC(2024, 0, 1), shardsDone: 0, accuracy: 0.1, loss: 2.3 },
        { seq: 2, createdAt: Date.UTC(2024, 0, 1, 0, 0, 20), shardsDone: 3, accuracy: null, loss: null },
      ],
      training: [
        { t: Date.UTC(2024, 0, 1, 0, 0, 5), loss: 2, samples: 100, counted: 1, nodeId: 'vA' },
        { t: Date.UTC(2024, 0, 1, 0, 0, 6), loss: 1.5, samples: 100, counted: 0, nodeId: 'vB' },
      ],
      samplesPerSecond: 3,
    };
    const csv = metricsCsv(metrics, (shards) => shards * 100);
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe(METRICS_CSV_COLUMNS.join(','));
    expect(lines).toHaveLength(1 + 3 + 2);
    expect(lines[1]).toBe('checkpoint,2024-01-01T00:00:00.000Z,1704067200000,0,0,0,0.1,2.3,,');
    expect(lines[2]).toBe('checkpoint,2024-01-01T00:00:10.000Z,1704067210000,1,2,200,0.5,1.25,,');
    expect(lines[3]).toBe('checkpoint,2024-01-01T00:00:20.000Z,1704067220000,2,3,300,,,,');
    expect(lines[4]).toBe('training,2024-01-01T00:00:05.000Z,1704067205000,,,100,,2,vA,1');
    expect(lines[5]).toBe('training,2024-01-01T00:00:06.000Z,1704067206000,,,100,,1.5,vB,0');
    expect(csv.endsWith('\r\n')).toBe(true);
  });

  it('leaves checkpoint samples empty without a way to count them', () => {
    const csv = metricsCsv({
      checkpoints: [{ seq: 0, createdAt: 0, shardsDone: 0, accuracy: 0.1, loss: 2 }],
      training: [],
      samplesPerSecond: 0,
    });
    expect(csv.split('\r\n')[1]).toBe('checkpoint,1970-01-01T00:00:00.000Z,0,0,0,,0.1,2,,');
  });
});
