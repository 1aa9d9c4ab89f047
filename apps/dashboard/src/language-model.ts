/**
 * What the job page shows of a language-model job: the held-out bits per character of its
 * checkpoints as chart columns, with the corpus's unigram baseline, and the sample's settings. The
 * sample itself is generated in text-sample.ts, loaded on demand (it brings TensorFlow.js).
 */
import type { CheckpointSummary } from '@tabswarm/protocol';
import type uPlot from 'uplot';
import type { ChartOptions } from './UPlotChart.tsx';

export const SAMPLE_PROMPT = 'Call me ';
export const SAMPLE_LENGTH = 200;
export const SAMPLE_TEMPERATURE = 0.8;
export const SAMPLE_SEED = 1851;

/** [samples trained, held-out bits per character, unigram baseline] of the evaluated checkpoints. */
export function bitsPerCharColumns(
  checkpoints: readonly CheckpointSummary[],
  shardSize: number,
  baselineBits: number,
): uPlot.AlignedData {
  const evaluated = checkpoints.filter(
    (c): c is CheckpointSummary & { bitsPerChar: number } => c.bitsPerChar !== undefined,
  );
  return [
    evaluated.map((c) => c.shardsDone * shardSize),
    evaluated.map((c) => c.bitsPerChar),
    evaluated.map(() => baselineBits),
  ];
}

export function bitsPerCharOptions(): ChartOptions {
  const value = (_u: uPlot, v: number | null): string => (v === null ? '—' : `${v.toFixed(3)} bits`);
  return {
    scales: { x: { time: false }, bits: { auto: true } },
    series: [
      { label: 'samples', value: (_u, v) => (v === null ? '—' : v.toLocaleString('en-US')) },
      {
        label: 'held-out bits/char',
        scale: 'bits',
        stroke: '#d9730d',
        width: 2,
        points: { show: true, size: 5 },
        value,
      },
      { label: 'unigram baseline', scale: 'bits', stroke: '#5d6778', width: 1, dash: [6, 4], value },
    ],
    axes: [{ label: 'samples trained' }, { scale: 'bits', label: 'bits per character' }],
  };
}
