/**
 * gpt-nano end to end: three volunteer browsers (each its own Chromium, TensorFlow.js on
 * WebAssembly in the trainer's worker) gossip-average a character transformer on the built-in
 * moby-dick corpus until the coordinator's own held-out evaluation is below the corpus's unigram
 * baseline by MARGIN_BITS; the dashboard's job page then plots it and shows text generated from a
 * scored checkpoint.
 *
 * The baseline is the entropy of the next characters of the held-out windows the coordinator
 * scores. By Gibbs' inequality no predictor that ignores context can score below it on those
 * characters — the best it can do is predict exactly that distribution — so a checkpoint below it
 * has learned to use the preceding characters. MARGIN_BITS (0.3 bits, about 7 %) keeps the claim
 * clear of the noise of estimating on 16,384 characters and of a model that merely matched the
 * unigram frequencies of the training part (whose distribution differs slightly from the held-out).
 *
 * WebAssembly, pinned with the page's ?backend=: the page's own choice here is WebGPU on
 * SwiftShader, several times slower on this model (README, Backends).
 */
import { expect, test } from '@playwright/test';
import { decodeShard, entropyBits, type CheckpointSummary } from '@tabswarm/protocol';
import { startVolunteer, trainerState, useSwarm } from './swarm-fixture.ts';

const MARGIN_BITS = 0.3;
/** The coordinator scores text models on the first 256 held-out windows (server's MAX_TEXT_EVAL_WINDOWS). */
const EVAL_WINDOWS = 256;

const swarm = useSwarm({ heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 15_000 });

/** Entropy, in bits, of the labels (next characters) of the held-out windows the coordinator scores. */
async function heldOutUnigramBits(): Promise<number> {
  const res = await fetch(
    `${swarm.coordinator.url}/api/datasets/moby-dick/samples?split=test&start=0&end=${EVAL_WINDOWS}`,
  );
  const shard = decodeShard(new Uint8Array(await res.arrayBuffer()));
  const counts = new Float64Array(256);
  for (const t of shard.y) counts[t] = (counts[t] as number) + 1;
  return entropyBits(counts);
}

const checkpointsOf = async (jobId: string): Promise<CheckpointSummary[]> =>
  (await swarm.api<{ checkpoints: CheckpointSummary[] }>('GET', `/api/jobs/${jobId}/checkpoints`))
    .checkpoints;

test(`three browsers gossip-train gpt-nano below the held-out unigram baseline by ${MARGIN_BITS} bits per character; the dashboard shows a sample`, async ({
  page,
}) => {
  test.setTimeout(420_000);
  const started = Date.now();
  const job = await swarm.createJob({
    name: 'e2e gpt-nano moby-dick',
    dataset: 'moby-dick',
    model: { kind: 'preset', preset: 'gpt-nano' },
    training: { optimizer: { type: 'adam' }, learningRate: 0.005, batchSize: 8, localSteps: 10, epochs: 1 },
    averaging: { mode: 'gossip', exchangeTimeoutMs: 5_000 },
    checkpoint: { everyShards: 4, contributors: 2 },
  });
  const baseline = await heldOutUnigramBits();
  const pages = await Promise.all(
    ['a', 'b', 'c'].map(async (label) => {
      const opened = await swarm.openVolunteerPage({ label, query: '?backend=wasm' });
      await startVolunteer(opened.page);
      return opened.page;
    }),
  );

  // Any scored checkpoint below the line: the latest one may still be being scored.
  let reached: CheckpointSummary | undefined;
  await expect
    .poll(
      async () => {
        const checkpoints = await checkpointsOf(job.id);
        reached = checkpoints.find(
          (c) => c.bitsPerChar !== undefined && c.bitsPerChar < baseline - MARGIN_BITS,
        );
        return reached !== undefined;
      },
      { timeout: 300_000, intervals: [2_000] },
    )
    .toBe(true);
  const checkpoint = reached as CheckpointSummary;
  const volunteers = await Promise.all(pages.map((p) => trainerState(p)));
  const series = await swarm.consensus(job.id);
  const initial = (await checkpointsOf(job.id)).find((c) => c.seq === 0);
  console.log(
    `[gpt-nano] ${((Date.now() - started) / 1000).toFixed(1)} s: checkpoint ${checkpoint.seq} (${checkpoint.shardsDone} shards): ${checkpoint.bitsPerChar?.toFixed(3)} bits/char, ` +
      `perplexity ${checkpoint.perplexity?.toFixed(2)}, next-char accuracy ${checkpoint.accuracy?.toFixed(3)}; initial ${initial?.bitsPerChar?.toFixed(3)}; ` +
      `baseline ${baseline.toFixed(3)} bits; backends ${volunteers.map((v) => v?.backend).join('/')}; shards ${volunteers.map((v) => v?.shardsDone).join('/')}; ` +
      `exchanges ${JSON.stringify(series.totals.byOutcome)}`,
  );
  expect(volunteers.map((v) => v?.backend)).toEqual(['wasm', 'wasm', 'wasm']);
  // The untrained model is near uniform over the vocabulary: log2(83) ≈ 6.4 bits.
  expect(initial?.bitsPerChar).toBeGreaterThan(baseline);
  expect(checkpoint.seq).toBeGreaterThan(0);
  expect(checkpoint.perplexity).toBeCloseTo(2 ** (checkpoint.bitsPerChar ?? 0), 3);
  // The volunteers averaged by gossip: exchanges went through.
  expect(series.totals.byOutcome.ok ?? 0).toBeGreaterThan(0);
  // The event log says what the checkpoint list says.
  const { events } = await swarm.api<{ events: { message: string }[] }>(
    'GET',
    `/api/events?jobId=${job.id}&kind=checkpoint`,
  );
  expect(events.some((e) => e.message.includes(`${checkpoint.bitsPerChar?.toFixed(3)} bits/char`))).toBe(
    true,
  );

  // The operator's view: the bits-per-character chart and a sample from a scored checkpoint.
  await page.goto(`${swarm.coordinator.url}/#/jobs/${job.id}`);
  await expect(page.getByTestId('chart-bits-per-char')).toBeVisible({ timeout: 30_000 });
  const sample = page.getByTestId('text-sample').locator('pre');
  await expect(sample).toHaveText(/\S{3}/u, { timeout: 60_000 });
  const caption = (await page.getByTestId('text-sample').locator('figcaption').textContent()) ?? '';
  expect(caption).toMatch(/^Sample from checkpoint \d+ \(temperature 0\.8\)$/);
  await page.screenshot({ path: test.info().outputPath('gpt-nano-job.png'), fullPage: true });
  console.log(
    `[gpt-nano] dashboard: ${caption}: ${JSON.stringify((await sample.textContent())?.slice(0, 80))}`,
  );
});
