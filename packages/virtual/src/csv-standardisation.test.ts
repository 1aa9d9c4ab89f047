// Issue 15, "data that just works": a tabular CSV with raw, widely scaled features (shaped like
// the breast-cancer diagnostics: 569 rows × 30 columns, some in the thousands, others ~0.01, a
// binary label that is a noisy linear function of the features) is uploaded through the
// coordinator's HTTP API as a user would, a small ReLU network (the mnist-mlp preset: 30 → 128
// ReLU → 2) trains on it with a virtual volunteer, and the coordinator's checkpoint accuracy must
// end within 5 points of a logistic regression this test fits itself on the same split. Before the
// CSV import standardised numeric columns it did not (0.421 against 0.947, the majority class being
// 0.579); the control uploads the same file with ?numeric=none and shows that failure again.
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@tabswarm/core';
import { MemoryNetwork } from '@tabswarm/gossip';
import { decodeShard, type JobInfo } from '@tabswarm/protocol';
import { until, useTestCoordinator } from './test-coordinator.ts';
import { VirtualVolunteer } from './virtual-volunteer.ts';

const ROWS = 569;
const FEATURES = 30;

const coordinator = useTestCoordinator('csv-standardisation');

/**
 * The synthetic diagnostics table: feature j has scale 10^(−2 + 5.4·j/29) (0.01 … ≈2,500) around
 * a positive mean of 3 scales, features share a common factor (as tumour measurements do), and the
 * label "M" / "B" is a noisy linear function of the standardised features (about 37 % "M").
 */
function syntheticCsv(): string {
  // Seeded (core's mulberry32), so the dataset is the same on every run.
  const random = mulberry32(569);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const scales = Array.from({ length: FEATURES }, (_, j) => 10 ** (-2 + (5.4 * j) / (FEATURES - 1)));
  const weights = Array.from({ length: FEATURES }, (_, j) => (j % 3 === 0 ? 1 : j % 3 === 1 ? -0.5 : 0.25));
  const header = [...Array.from({ length: FEATURES }, (_, j) => `f${j + 1}`), 'diagnosis'];
  const lines = [header.join(',')];
  for (let r = 0; r < ROWS; r++) {
    const common = normal();
    const z = scales.map(() => 0.6 * common + 0.8 * normal());
    const logit = z.reduce((s, v, j) => s + v * (weights[j] as number), 0) + 0.8 * normal() - 1.2;
    const x = z.map((v, j) => ((3 + v) * (scales[j] as number)).toPrecision(5));
    lines.push([...x, logit > 0 ? 'M' : 'B'].join(','));
  }
  return `${lines.join('\n')}\n`;
}

interface Split {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly n: number;
}

async function samples(datasetId: string, split: 'train' | 'test', n: number): Promise<Split> {
  const res = await fetch(
    `${coordinator.url}/api/datasets/${datasetId}/samples?split=${split}&start=0&end=${n}`,
  );
  expect(res.status).toBe(200);
  const shard = decodeShard(new Uint8Array(await res.arrayBuffer()));
  return { x: shard.x, y: shard.y, n };
}

/**
 * Logistic regression by full-batch gradient descent on features standardised with the training
 * split's mean and standard deviation (whatever the coordinator stored: standardising twice changes
 * nothing); returns its test accuracy.
 */
function logisticRegressionAccuracy(train: Split, test: Split, d: number): number {
  const at = (values: ArrayLike<number>, i: number): number => values[i] as number;
  const mean = Array.from({ length: d }, (_, j) => {
    let sum = 0;
    for (let i = 0; i < train.n; i++) sum += at(train.x, i * d + j);
    return sum / train.n;
  });
  const std = mean.map((m, j) => {
    let sum = 0;
    for (let i = 0; i < train.n; i++) sum += (at(train.x, i * d + j) - m) ** 2;
    return Math.sqrt(sum / train.n) || 1;
  });
  const feature = (s: Split, i: number, j: number): number => (at(s.x, i * d + j) - at(mean, j)) / at(std, j);
  const w = new Array<number>(d).fill(0);
  let b = 0;
  for (let step = 0; step < 1500; step++) {
    const gw = new Array<number>(d).fill(0);
    let gb = 0;
    for (let i = 0; i < train.n; i++) {
      let z = b;
      for (let j = 0; j < d; j++) z += at(w, j) * feature(train, i, j);
      const err = 1 / (1 + Math.exp(-z)) - at(train.y, i);
      for (let j = 0; j < d; j++) gw[j] = at(gw, j) + (err * feature(train, i, j)) / train.n;
      gb += err / train.n;
    }
    for (let j = 0; j < d; j++) w[j] = at(w, j) - 0.5 * at(gw, j);
    b -= 0.5 * gb;
  }
  let correct = 0;
  for (let i = 0; i < test.n; i++) {
    let z = b;
    for (let j = 0; j < d; j++) z += at(w, j) * feature(test, i, j);
    if ((z > 0 ? 1 : 0) === test.y[i]) correct++;
  }
  return correct / test.n;
}

interface Outcome {
  readonly accuracy: number;
  readonly logistic: number;
  readonly majority: number;
}

/** Uploads the CSV with `query`, fits logistic regression on its split, trains the job on it. */
async function uploadAndTrain(label: string, query: string): Promise<Outcome> {
  const started = Date.now();
  const uploaded = await fetch(`${coordinator.url}/api/datasets?label=diagnosis&name=${label}${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${coordinator.token}`, 'content-type': 'text/csv' },
    body: syntheticCsv(),
  });
  const reply = (await uploaded.json()) as {
    dataset: { id: string; trainSize: number; testSize: number; featureShape: number[] };
  };
  expect(uploaded.status).toBe(201);
  const dataset = reply.dataset;
  expect(dataset.featureShape).toEqual([FEATURES]);

  const train = await samples(dataset.id, 'train', dataset.trainSize);
  const test = await samples(dataset.id, 'test', dataset.testSize);
  const majority = Math.max(...[0, 1].map((c) => test.y.filter((y) => y === c).length)) / test.n;
  const logistic = logisticRegressionAccuracy(train, test, FEATURES);

  const job = await coordinator.operator.createJob({
    name: label,
    dataset: dataset.id,
    model: { kind: 'preset', preset: 'mnist-mlp' },
    training: {
      optimizer: { type: 'adam' },
      learningRate: 0.003,
      batchSize: 32,
      localSteps: 10,
      epochs: 12,
      seed: 1,
    },
    averaging: { mode: 'gossip' },
    checkpoint: { everyShards: 4, contributors: 1 },
  });
  const volunteer = new VirtualVolunteer({
    baseUrl: coordinator.url,
    network: new MemoryNetwork(),
    averaging: false,
    label,
  });
  let finished: JobInfo;
  try {
    await volunteer.start();
    // Completed, and its last checkpoint scored (that runs off the coordinator's thread and may
    // still be going when the job completes: its accuracy is null until then).
    finished = await until(
      'the job to complete and its last checkpoint to be scored',
      60_000,
      async () => {
        const latest = await coordinator.operator.getJob(job.id);
        const scored = typeof latest.latestCheckpoint?.accuracy === 'number';
        return latest.status === 'completed' && scored ? latest : null;
      },
      { pollMs: 250 },
    );
  } finally {
    await volunteer.stop();
  }
  const accuracy = finished.latestCheckpoint?.accuracy ?? 0;
  console.log(
    `[csv ${label}] ${((Date.now() - started) / 1000).toFixed(1)} s: ${finished.shardsDone} shards, checkpoint ${finished.latestCheckpoint?.seq} accuracy ${accuracy.toFixed(3)}; logistic regression ${logistic.toFixed(3)}; majority class ${majority.toFixed(3)}`,
  );
  return { accuracy, logistic, majority };
}

describe('a raw, widely scaled tabular CSV trains like logistic regression', () => {
  it('a ReLU network on the uploaded CSV ends within 5 points of logistic regression', async () => {
    const { accuracy, logistic, majority } = await uploadAndTrain('standardised', '');
    expect(logistic).toBeGreaterThan(majority + 0.15);
    expect(accuracy).toBeGreaterThanOrEqual(logistic - 0.05);
  }, 90_000);

  it('with the raw values kept (?numeric=none), the same job does not (the control)', async () => {
    const { accuracy, logistic } = await uploadAndTrain('raw', '&numeric=none');
    expect(accuracy).toBeLessThan(logistic - 0.05);
  }, 90_000);
});
