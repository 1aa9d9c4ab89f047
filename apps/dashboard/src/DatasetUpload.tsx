/**
 * Uploads a dataset — a CSV (header row, one label column, numeric or text features, with the
 * preprocessing of numeric columns and per-column choices) or a tabswarm
 * binary file ("TSDS") — with a progress bar from XHR upload progress, then the coordinator's own
 * progress (`GET /api/datasets/uploads/:id`) while it parses and writes.
 */
import { useEffect, useRef, useState } from 'react';
import type { DatasetSummary, UploadProgress, UploadStatus } from './api.ts';
import { Field } from './Field.tsx';
import { formatBytes, formatNumber } from './format.ts';
import { reportWriteError, useServices } from './services.ts';
import { ProgressBar } from './ProgressBar.tsx';
import { READ_ONLY_HINT_ID } from './ReadOnlyHint.tsx';

type Props = {
  readonly canWrite: boolean;
  readonly onUploaded: (dataset: DatasetSummary) => void;
};

type Format = 'csv' | 'binary' | 'text';

type Upload =
  | { readonly phase: 'idle' }
  | { readonly phase: 'sending'; readonly progress: UploadProgress; readonly server: UploadStatus | null }
  | { readonly phase: 'processing'; readonly server: UploadStatus | null }
  | { readonly phase: 'done'; readonly dataset: DatasetSummary }
  | { readonly phase: 'failed'; readonly message: string };

const TSDS_MAGIC = 'TSDS';
const POLL_MS = 400;

/** "TSDS" at the start: the binary layout; a .txt or text/plain file: UTF-8 text; anything else: CSV. */
async function detectFormat(file: File): Promise<Format> {
  const head = new Uint8Array(await file.slice(0, 4).arrayBuffer());
  if (String.fromCharCode(...head) === TSDS_MAGIC) return 'binary';
  return file.type === 'text/plain' || /\.txt$/i.test(file.name) ? 'text' : 'csv';
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `dash-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

export function DatasetUpload({ canWrite, onUploaded }: Props) {
  const { api, tokens } = useServices();
  const [file, setFile] = useState<File | null>(null);
  const [format, setFormat] = useState<Format>('csv');
  const [name, setName] = useState('');
  const [label, setLabel] = useState('label');
  const [testFraction, setTestFraction] = useState('');
  const [numeric, setNumeric] = useState<'standardize' | 'none'>('standardize');
  const [columns, setColumns] = useState('');
  const [upload, setUpload] = useState<Upload>({ phase: 'idle' });
  const abort = useRef<AbortController | null>(null);

  useEffect(() => () => abort.current?.abort(), []);

  const pick = (picked: File | null): void => {
    setFile(picked);
    setUpload({ phase: 'idle' });
    if (picked === null) return;
    setName(picked.name.replace(/\.[^.]+$/, ''));
    void detectFormat(picked).then(setFormat, () => setFormat('csv'));
  };

  const start = async (): Promise<void> => {
    if (file === null) return;
    const controller = new AbortController();
    abort.current = controller;
    const uploadId = randomId();
    let server: UploadStatus | null = null;
    let sent = false;
    setUpload({ phase: 'sending', progress: { loaded: 0, total: file.size }, server });
    const poll = async (): Promise<void> => {
      while (!controller.signal.aborted) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        if (controller.signal.aborted) return;
        try {
          server = await api.uploadStatus(uploadId);
        } catch {
          continue; // not registered yet, or gone: the XHR reply is what counts
        }
        if (controller.signal.aborted) return;
        const s = server;
        setUpload((u) => (u.phase === 'sending' || u.phase === 'processing' ? { ...u, server: s } : u));
      }
    };
    void poll();
    try {
      const dataset = await api.uploadDataset(
        file,
        { format, name, label, testFraction, numeric, columns, uploadId },
        tokens.get().token,
        (progress) => {
          const total = progress.total ?? file.size;
          if (progress.loaded >= total) sent = true;
          setUpload(
            sent
              ? { phase: 'processing', server }
              : { phase: 'sending', progress: { ...progress, total }, server },
          );
        },
        controller.signal,
      );
      setUpload({ phase: 'done', dataset });
      onUploaded(dataset);
    } catch (error) {
      if (!controller.signal.aborted)
        setUpload({ phase: 'failed', message: reportWriteError(tokens, error) });
    } finally {
      controller.abort();
      if (abort.current === controller) abort.current = null;
    }
  };

  const busy = upload.phase === 'sending' || upload.phase === 'processing';
  return (
    <div className="upload" data-testid="dataset-upload">
      <div className="field-row">
        <Field id="dataset-file" label="Dataset file (CSV or tabswarm binary)">
          <input
            id="dataset-file"
            data-testid="dataset-file"
            type="file"
            accept=".csv,.txt,.tsds,.bin,text/csv,text/plain,application/octet-stream"
            disabled={!canWrite || busy}
            onChange={(e) => pick(e.target.files?.[0] ?? null)}
          />
          {file !== null && (
            <p className="detail" data-testid="dataset-format">
              {formatBytes(file.size)} ·{' '}
              {format === 'csv'
                ? 'CSV'
                : format === 'text'
                  ? 'UTF-8 text (character level, windows of 64)'
                  : 'tabswarm binary layout (TSDS)'}
            </p>
          )}
        </Field>
        <Field id="dataset-name" label="Name">
          <input id="dataset-name" value={name} onChange={(e) => setName(e.target.value)} disabled={busy} />
        </Field>
        {format === 'csv' && (
          <>
            <Field id="dataset-label" label="Label column">
              <input
                id="dataset-label"
                value={label}
                onChange={(e) => setLabel(e.target.value)}
                disabled={busy}
              />
            </Field>
            <Field id="dataset-test-fraction" label="Test fraction">
              <input
                id="dataset-test-fraction"
                type="number"
                step="any"
                min={0}
                max={1}
                placeholder="0.2"
                value={testFraction}
                onChange={(e) => setTestFraction(e.target.value)}
                disabled={busy}
              />
            </Field>
            <Field id="dataset-numeric" label="Numeric columns">
              <select
                id="dataset-numeric"
                value={numeric}
                onChange={(e) => setNumeric(e.target.value === 'none' ? 'none' : 'standardize')}
                disabled={busy}
              >
                <option value="standardize">standardise (training split’s mean and std)</option>
                <option value="none">keep raw values</option>
              </select>
            </Field>
            <Field id="dataset-column-choices" label="Per-column choices (JSON, optional)" grow>
              <input
                id="dataset-column-choices"
                className="mono"
                placeholder='{"id":"drop","zip":"onehot","age":"none"}'
                value={columns}
                onChange={(e) => setColumns(e.target.value)}
                disabled={busy}
              />
            </Field>
          </>
        )}
      </div>
      <div className="actions">
        <button
          type="button"
          className="button"
          data-testid="dataset-upload-button"
          disabled={!canWrite || file === null || busy}
          aria-describedby={canWrite ? undefined : READ_ONLY_HINT_ID}
          onClick={() => void start()}
        >
          Upload dataset
        </button>
        {busy && (
          <button type="button" className="button small" onClick={() => abort.current?.abort()}>
            Cancel upload
          </button>
        )}
      </div>
      {upload.phase === 'sending' && (
        <ProgressBar
          label="Dataset upload"
          testId="dataset-progress"
          fraction={upload.progress.total ? upload.progress.loaded / upload.progress.total : null}
          text={`sent ${formatBytes(upload.progress.loaded)} of ${formatBytes(upload.progress.total)}`}
        />
      )}
      {upload.phase === 'processing' && (
        <ProgressBar
          label="Dataset upload"
          testId="dataset-progress"
          fraction={1}
          text={`sent; the coordinator is ${upload.server?.phase === 'processing' ? 'writing the dataset' : 'reading it'}${
            upload.server ? ` (${formatBytes(upload.server.receivedBytes)} received)` : ''
          }…`}
        />
      )}
      {upload.phase === 'done' && (
        <>
          <ProgressBar label="Dataset upload" testId="dataset-progress" fraction={1} text="done" />
          <p className="ok" role="status" data-testid="dataset-uploaded" data-dataset-id={upload.dataset.id}>
            Uploaded <span className="mono">{upload.dataset.id}</span>:{' '}
            {formatNumber(upload.dataset.trainSize)} training and {formatNumber(upload.dataset.testSize)} test
            samples of shape [{upload.dataset.featureShape.join(', ')}], {upload.dataset.numClasses} classes.
            Selected for this job.
          </p>
        </>
      )}
      {upload.phase === 'failed' && (
        <p className="error" role="alert" data-testid="dataset-error">
          Upload failed: {upload.message}
        </p>
      )}
    </div>
  );
}
