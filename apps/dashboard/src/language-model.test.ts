// The language-model card's chart columns: only checkpoints with bits per character, against
// samples trained, with the unigram baseline as a flat second series.
import { describe, expect, it } from 'vitest';
import type { CheckpointSummary } from '@tabswarm/protocol';
import { bitsPerCharColumns } from './language-model.ts';

const checkpoint = (seq: number, bitsPerChar?: number): CheckpointSummary => ({
  seq,
  createdAt: 1_000 * seq,
  shardsDone: 4 * seq,
  accuracy: bitsPerChar === undefined ? null : 0.3,
  loss: bitsPerChar === undefined ? null : bitsPerChar * Math.LN2,
  ...(bitsPerChar !== undefined && { bitsPerChar, perplexity: 2 ** bitsPerChar }),
});

describe('bitsPerCharColumns', () => {
  it('plots evaluated checkpoints against samples trained, with the baseline beside them', () => {
    const data = bitsPerCharColumns([checkpoint(0, 6.4), checkpoint(1, 4.0), checkpoint(2)], 80, 4.49);
    expect(data).toEqual([
      [0, 320],
      [6.4, 4.0],
      [4.49, 4.49],
    ]);
  });
});
