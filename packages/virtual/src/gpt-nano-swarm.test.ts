// gpt-nano on the built-in moby-dick corpus: two virtual volunteers (the tab's trainer and gossip
// averaging, TensorFlow.js on WebAssembly in worker threads) against a real coordinator, until the
// coordinator's own held-out evaluation is below the corpus's unigram baseline by MARGIN_BITS.
//
// The baseline is the entropy of the character distribution of the held-out windows the coordinator
// evaluates on. By Gibbs' inequality no predictor that ignores context can score below it on those
// characters — the best it can do is predict exactly that distribution — so a checkpoint below it
// has learned to use the preceding characters. MARGIN_BITS (0.3 bits, about 7 %) keeps the claim
// clear of the noise of estimating on 16,384 characters and of a model that merely matched the
// unigram frequencies of the training part (whose distribution differs slightly from the held-out).
import { describe, expect, it } from 'vitest';
import { decodeShard, entropyBits, type CheckpointSummary, type JobInfo } from '@tabswarm/protocol';
import { until, useTestCoordinator } from './test-coordinator.ts';

const MARGIN_BITS = 0.3;
/** The coordinator evaluates text models on the first 256 held-out windows (server's MAX_TEXT_EVAL_WINDOWS). */
const EVAL_WINDOWS = 256;

const coordinator = useTestCoordinator('gpt-nano-swarm');

/** Entropy, in bits, of the labels (next characters) of the held-out windows the coordinator scores. */
async function heldOutUnigramBits(): Promise<number> {
  const res = await fetch(
    `${coordinator.url}/api/datasets/moby-dick/samples?split=test&start=0&end=${EVAL_WINDOWS}`,
  );
  const shard = decodeShard(new Uint8Array(await res.arrayBuffer()));
  const counts = new Float64Array(256);
  for (const t of shard.y) counts[t] = (counts[t] as number) + 1;
  return entropyBits(counts);
}

describe('gpt-nano on virtual volunteers', () => {
  it(`trains below the held-out unigram baseline by ${MARGIN_BITS} bits per character`, async () => {
    const started = Date.now();
    const job = await coordinator.operator.createJob({
      name: 'gpt-nano moby-dick',
      dataset: 'moby-dick',
      model: { kind: 'preset', preset: 'gpt-nano' },
      training: {
        optimizer: { type: 'adam' },
        learningRate: 0.005,
        batchSize: 8,
        localSteps: 10,
        epochs: 1,
      },
      averaging: { mode: 'gossip', exchangeTimeoutMs: 5_000 },
      checkpoint: { everyShards: 4, contributors: 2 },
    });
    const baseline = await heldOutUnigramBits();
    // Checkpoint 0 is scored off the coordinator's thread: its figures come a moment after the job.
    const initial = await until('checkpoint 0 scored', 120_000, async () => {
      const checkpoint = (await coordinator.operator.getJob(job.id)).latestCheckpoint;
      return checkpoint?.bitsPerChar !== undefined ? checkpoint : null;
    });
    const volunteers = coordinator.wasmSwarm(['a', 'b']);
    const checkpointsOf = async (): Promise<CheckpointSummary[]> =>
      (
        await coordinator.operator.api<{ checkpoints: CheckpointSummary[] }>(
          'GET',
          `/api/jobs/${job.id}/checkpoints`,
        )
      ).checkpoints;
    let reached: CheckpointSummary;
    let trained: JobInfo;
    try {
      const backends = await Promise.all(volunteers.map((v) => v.start()));
      expect(backends.map((b) => b.backend)).toEqual(['wasm', 'wasm']);
      // Any scored checkpoint: the latest one is often still being scored (off the coordinator's
      // thread) while training goes on, so polling only the latest can miss every scored one.
      reached = await until('a checkpoint below the baseline', 240_000, async () => {
        const below = (await checkpointsOf()).find(
          (c) => c.bitsPerChar !== undefined && c.bitsPerChar < baseline - MARGIN_BITS,
        );
        return below ?? null;
      });
      trained = await coordinator.operator.getJob(job.id);
    } finally {
      await Promise.allSettled(volunteers.map((v) => v.stop()));
      await coordinator.operator.jobAction(job.id, 'cancel').catch(() => undefined);
    }
    const state = volunteers.map((v) => v.state());
    console.log(
      `[gpt-nano swarm] ${((Date.now() - started) / 1000).toFixed(1)} s: ${trained.samplesDone} samples (${trained.samplesDone * 64} characters), ${trained.shardsDone} shards; ` +
        `checkpoint ${reached.seq}: ${reached.bitsPerChar?.toFixed(3)} bits/char, perplexity ${reached.perplexity?.toFixed(2)}, next-char accuracy ${reached.accuracy?.toFixed(3)}; ` +
        `initial ${initial.bitsPerChar?.toFixed(3)} bits/char; unigram baseline ${baseline.toFixed(3)} bits; volunteers ${JSON.stringify(state.map((s) => s.samplesPerSec))}`,
    );
    // The untrained model is near uniform over the vocabulary: log2(83) ≈ 6.4 bits.
    expect(initial.bitsPerChar).toBeGreaterThan(baseline);
    expect(reached.seq).toBeGreaterThan(0);
    expect(reached.perplexity).toBeCloseTo(2 ** (reached.bitsPerChar ?? 0), 3);
    // The event log says the same as the checkpoint list.
    const { events } = await coordinator.operator.api<{ events: { message: string }[] }>(
      'GET',
      `/api/events?jobId=${job.id}&kind=checkpoint`,
    );
    expect(events.some((e) => e.message.includes(`${reached.bitsPerChar?.toFixed(3)} bits/char`))).toBe(true);
  }, 300_000);
});
