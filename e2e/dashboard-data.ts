/**
 * Files an operator would upload from the dashboard, made up for the tests: a CSV dataset, the
 * same kind of data in the binary layout ("TSDS", see server/src/datasets/binary.ts), and a
 * TensorFlow.js model.json whose topology fits them.
 */
import { presetTopology } from '@tabswarm/protocol';

const CLASSES = ['red', 'green', 'blue'] as const;

/** Features of row i: three well-separated blobs in four dimensions. */
function blobRow(i: number): { features: number[]; label: number } {
  const label = i % CLASSES.length;
  const features = [0, 1, 2, 3].map((d) => label * 2 + (d === label ? 3 : 0) + Math.sin(i * (d + 1)) * 0.5);
  return { features, label };
}

/** A header row, four numeric features and a `label` column with class names. */
export function blobsCsv(rows: number): string {
  const lines = ['f1,f2,f3,f4,label'];
  for (let i = 0; i < rows; i++) {
    const { features, label } = blobRow(i);
    lines.push(`${features.map((f) => f.toFixed(4)).join(',')},${CLASSES[label]}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The binary layout: preamble, JSON header, then train-x, train-y, test-x, test-y (little-endian). */
export function blobsTsds(trainSize: number, testSize: number): Buffer {
  const header = Buffer.from(
    JSON.stringify({
      name: 'blobs-binary',
      featureShape: [4],
      dtype: 'float32',
      numClasses: 3,
      trainSize,
      testSize,
    }),
  );
  const preamble = Buffer.alloc(12);
  preamble.write('TSDS', 0, 'latin1');
  preamble.writeUInt16LE(1, 4);
  preamble.writeUInt16LE(0, 6);
  preamble.writeUInt32LE(header.length, 8);
  const split = (from: number, n: number): [Buffer, Buffer] => {
    const x = Buffer.alloc(n * 16);
    const y = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      const { features, label } = blobRow(from + i);
      features.forEach((f, d) => x.writeFloatLE(f, (i * 4 + d) * 4));
      y[i] = label;
    }
    return [x, y];
  };
  return Buffer.concat([preamble, header, ...split(0, trainSize), ...split(trainSize, testSize)]);
}

/** What a person would save from TF.js (weights left out): a layers model for 4 features, 3 classes. */
export function blobsModelJson(): string {
  return JSON.stringify({
    format: 'layers-model',
    generatedBy: 'tabswarm e2e',
    modelTopology: presetTopology('mnist-mlp', { inputShape: [4], numClasses: 3 }),
    weightsManifest: [],
  });
}
