/** A job's downloads: the latest (or final) model, every checkpoint's files, and the metrics as CSV. */
import { Fragment, useState } from 'react';
import type { CheckpointSummary, JobInfo } from '@tabswarm/protocol';
import { Card, DataTable, type TableColumn } from '@tabswarm/ui';
import { checkpointUrls, type JobMetrics } from './api.ts';
import { metricsCsv } from './csv-export.ts';
import { formatClock, formatDateTime, formatLoss, formatNumber, formatPercent } from './format.ts';
import type { JobSeries } from './job-series.ts';

type Props = {
  readonly job: JobInfo;
  readonly series: JobSeries;
  readonly fetchMetrics: () => Promise<JobMetrics | null>;
};

const CHECKPOINT_COLUMNS: readonly TableColumn[] = [
  { label: 'Checkpoint', num: true },
  { label: 'Taken' },
  { label: 'Shards', num: true },
  { label: 'Samples', num: true },
  { label: 'Accuracy', num: true },
  { label: 'Loss', num: true },
  { label: 'Download' },
];

/** A TF.js layers model is these two files, saved side by side. */
const MODEL_FILES = [
  { url: 'modelJson', name: 'model.json' },
  { url: 'weightsBin', name: 'weights.bin' },
] as const;

function saveFile(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function ModelDownloads({
  job,
  checkpoints,
}: {
  readonly job: JobInfo;
  readonly checkpoints: readonly CheckpointSummary[];
}) {
  const latest = checkpoints[checkpoints.length - 1] ?? job.latestCheckpoint;
  if (latest === null || latest === undefined) {
    return <p className="empty">No checkpoint yet.</p>;
  }
  const urls = checkpointUrls(job.id, latest.seq);
  const final = job.status === 'completed';
  const absolute = `${window.location.origin}${urls.modelJson}`;
  return (
    <div className="model-download" data-testid="model-download" data-seq={latest.seq}>
      <p>
        <strong>{final ? 'Final model' : 'Latest model'}</strong> (checkpoint {latest.seq}, accuracy{' '}
        {formatPercent(latest.accuracy)}), TensorFlow.js layers format:
      </p>
      <div className="actions">
        {MODEL_FILES.map(({ url, name }, i) => (
          <a
            key={name}
            className={i === 0 ? 'button primary' : 'button'}
            href={urls[url]}
            download={name}
            data-testid={`download-${name.replace('.', '-')}`}
          >
            {name}
          </a>
        ))}
      </div>
      <p className="detail">
        Save both side by side, or load straight from the coordinator:{' '}
        <code>tf.loadLayersModel(&apos;{absolute}&apos;)</code>
      </p>
    </div>
  );
}

function CheckpointRow({
  jobId,
  checkpoint: c,
  samples,
}: {
  readonly jobId: string;
  readonly checkpoint: CheckpointSummary;
  readonly samples: number;
}) {
  const urls = checkpointUrls(jobId, c.seq);
  return (
    <tr data-testid="checkpoint-row" data-seq={c.seq}>
      <td className="num">{c.seq}</td>
      <td title={formatDateTime(c.createdAt)}>{formatClock(c.createdAt)}</td>
      <td className="num">{formatNumber(c.shardsDone)}</td>
      <td className="num">{formatNumber(samples)}</td>
      <td className="num">{c.accuracy === null ? 'evaluating…' : formatPercent(c.accuracy)}</td>
      <td className="num">{formatLoss(c.loss)}</td>
      <td className="links">
        {MODEL_FILES.map(({ url, name }) => (
          <Fragment key={name}>
            <a href={urls[url]} download={name} aria-label={`checkpoint ${c.seq} ${name}`}>
              {name}
            </a>{' '}
          </Fragment>
        ))}
        <a href={urls.frame} aria-label={`checkpoint ${c.seq} parameter frame`}>
          frame
        </a>
      </td>
    </tr>
  );
}

export function DownloadsCard({ job, series, fetchMetrics }: Props) {
  const [csvBusy, setCsvBusy] = useState(false);
  const checkpoints = series.checkpoints;

  const downloadCsv = async (): Promise<void> => {
    setCsvBusy(true);
    try {
      const metrics = await fetchMetrics();
      if (metrics !== null) {
        saveFile(
          `${job.id}-metrics.csv`,
          'text/csv',
          metricsCsv(metrics, (n) => series.samplesAtShards(n)),
        );
      }
    } finally {
      setCsvBusy(false);
    }
  };

  return (
    <Card
      title="Downloads"
      headingId="downloads-heading"
      actions={
        <button
          type="button"
          className="button small"
          data-testid="download-metrics-csv"
          disabled={csvBusy}
          onClick={() => void downloadCsv()}
        >
          Metrics as CSV
        </button>
      }
    >
      <ModelDownloads job={job} checkpoints={checkpoints} />
      {checkpoints.length > 0 && (
        <DataTable columns={CHECKPOINT_COLUMNS} testId="checkpoint-table" height="short">
          {[...checkpoints].reverse().map((c) => (
            <CheckpointRow
              key={c.seq}
              jobId={job.id}
              checkpoint={c}
              samples={series.samplesAtShards(c.shardsDone)}
            />
          ))}
        </DataTable>
      )}
    </Card>
  );
}
