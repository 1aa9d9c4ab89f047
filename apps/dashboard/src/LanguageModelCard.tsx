/** A language-model job's card: held-out bits per character per checkpoint, and a generated sample. */
import { useEffect, useMemo, useState } from 'react';
import { Card } from '@tabswarm/ui';
import type { CheckpointSummary, JobInfo, TextInfo } from '@tabswarm/protocol';
import { checkpointUrls } from './api.ts';
import { ChartCard } from './ChartCard.tsx';
import { useServices } from './services.ts';
import { bitsPerCharColumns, bitsPerCharOptions, SAMPLE_TEMPERATURE } from './language-model.ts';

type Props = {
  readonly job: JobInfo;
  readonly checkpoints: readonly CheckpointSummary[];
  readonly text: TextInfo;
};

type Sample =
  { readonly seq: number; readonly text: string } | { readonly seq: number; readonly error: string };

export function LanguageModelCard({ job, checkpoints, text }: Props) {
  const options = useMemo(() => bitsPerCharOptions(), []);
  const data = useMemo(
    () => bitsPerCharColumns(checkpoints, job.shardSize, text.heldOutUnigramBits),
    [checkpoints, job.shardSize, text.heldOutUnigramBits],
  );
  // The newest scored checkpoint: the latest one may still be being scored.
  const latest = checkpoints.findLast((c) => c.bitsPerChar !== undefined) ?? null;
  const seq = latest?.seq ?? null;
  const [sample, setSample] = useState<Sample | null>(null);
  useEffect(() => {
    if (seq === null) return;
    let cancelled = false;
    import('./text-sample.ts')
      .then(({ generateSample }) => generateSample(checkpointUrls(job.id, seq).modelJson, text))
      .then(
        (generated) => {
          if (!cancelled) setSample({ seq, text: generated });
        },
        (error: unknown) => {
          if (!cancelled) setSample({ seq, error: error instanceof Error ? error.message : String(error) });
        },
      );
    return () => {
      cancelled = true;
    };
  }, [job.id, seq, text]);
  const evaluated = data[0].length;
  return (
    <Card title="Language model" headingId="language-model-heading">
      <ChartCard
        title="Held-out bits per character"
        options={options}
        data={data}
        testId="chart-bits-per-char"
        empty={evaluated > 0 ? null : 'No checkpoint evaluated yet'}
      >
        Each point is a checkpoint scored on held-out text it never trained on; dashed: the unigram baseline (
        {text.heldOutUnigramBits.toFixed(3)} bits), the best any model ignoring context can do.
        {latest?.perplexity !== undefined &&
          ` Latest: ${latest.bitsPerChar?.toFixed(3)} bits/char, perplexity ${latest.perplexity.toFixed(2)}.`}
      </ChartCard>
      <figure className="text-sample" data-testid="text-sample">
        <figcaption>
          {sample === null
            ? 'Sample: waiting for an evaluated checkpoint…'
            : `Sample from checkpoint ${sample.seq} (temperature ${SAMPLE_TEMPERATURE})`}
        </figcaption>
        {sample !== null && 'text' in sample && <pre>{sample.text}</pre>}
        {sample !== null && 'error' in sample && (
          <p className="error" role="alert">
            Could not generate a sample: {sample.error}
          </p>
        )}
      </figure>
    </Card>
  );
}

/** The card for a job whose dataset is text; nothing for other jobs. */
export function LanguageModelSection({ job, checkpoints }: Omit<Props, 'text'>) {
  const { api } = useServices();
  const [text, setText] = useState<TextInfo | null>(null);
  const datasetId = job.spec.dataset;
  useEffect(() => {
    let cancelled = false;
    api.datasets().then(
      (datasets) => {
        if (!cancelled) setText(datasets.find((d) => d.id === datasetId)?.text ?? null);
      },
      () => undefined, // the dataset list failing only hides this card; the page shows the job regardless
    );
    return () => {
      cancelled = true;
    };
  }, [api, datasetId]);
  return text === null ? null : <LanguageModelCard job={job} checkpoints={checkpoints} text={text} />;
}
