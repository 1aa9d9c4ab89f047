/**
 * The submit form: a preset to start from, every job-spec field with its default filled in, a
 * model.json and a dataset to upload, and the coordinator's validation messages shown next to
 * the field they are about. A submitted job opens its page.
 */
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import {
  AVERAGING_MODES,
  CODECS,
  GOSSIP_SCHEDULES,
  MODEL_PRESETS,
  OPTIMIZERS,
  type ModelPreset,
} from '@tabswarm/protocol';
import { ApiError, type DatasetSummary, type UploadProgress } from './api.ts';
import { DatasetUpload } from './DatasetUpload.tsx';
import { formatBytes, formatNumber } from './format.ts';
import {
  defaultForm,
  FIELD_PATHS,
  fieldForPath,
  FORM_PRESETS,
  formToSpec,
  presetForm,
  splitServerMessage,
  topologyFromModelJson,
  type FieldKey,
  type JobForm,
} from './job-form.ts';
import { navigate } from './routes.ts';
import { reportWriteError, useServices } from './services.ts';
import { withJobs } from './store.ts';
import { ProgressBar, READ_ONLY_HINT_ID } from './ui.tsx';

type Props = {
  readonly canWrite: boolean;
};

type Errors = Partial<Record<FieldKey, string>>;
/** Fields typed as free text (numbers among them), as opposed to choices and files. */
type TextField = { [K in keyof JobForm]: string extends JobForm[K] ? K : never }[keyof JobForm];

const BUILT_IN: DatasetSummary = {
  id: 'mnist',
  name: 'MNIST digits (built in)',
  source: 'builtin',
  featureShape: [28, 28, 1],
  numClasses: 10,
  trainSize: 8000,
  testSize: 2000,
};

interface TopologyFile {
  readonly fileName: string;
  readonly bytes: number;
  readonly className: string;
  readonly layers: number | null;
}

const inputId = (field: FieldKey): string => `f-${field}`;
const errorId = (field: FieldKey): string => `f-${field}-error`;

export function SubmitJob({ canWrite }: Props) {
  const { api, store, tokens } = useServices();
  const [form, setForm] = useState<JobForm>(defaultForm);
  const [presetId, setPresetId] = useState(FORM_PRESETS[0]?.id ?? '');
  const [errors, setErrors] = useState<Errors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const [sendProgress, setSendProgress] = useState<UploadProgress | null>(null);
  const [datasets, setDatasets] = useState<readonly DatasetSummary[]>([BUILT_IN]);
  const [topologyFile, setTopologyFile] = useState<TopologyFile | null>(null);
  const [topologyRead, setTopologyRead] = useState<UploadProgress | null>(null);
  const focusNext = useRef<FieldKey | null>(null);

  useEffect(() => {
    let live = true;
    api.datasets().then(
      (list) => {
        if (live) setDatasets([BUILT_IN, ...list.filter((d) => d.id !== BUILT_IN.id)]);
      },
      () => undefined, // the built-in dataset is always there; uploads still work
    );
    return () => {
      live = false;
    };
  }, [api]);

  useEffect(() => {
    const field = focusNext.current;
    if (field === null) return;
    focusNext.current = null;
    document.getElementById(inputId(field))?.focus();
  }, [errors]);

  const set = <K extends keyof JobForm>(key: K, value: JobForm[K]): void => {
    setForm((f) => ({ ...f, [key]: value }));
    setErrors((e) => {
      if (e[key] === undefined) return e;
      const next = { ...e };
      delete next[key];
      return next;
    });
  };

  const applyPreset = (id: string): void => {
    setPresetId(id);
    const preset = FORM_PRESETS.find((p) => p.id === id);
    if (preset === undefined) return;
    // Keep the chosen dataset and an uploaded model: a preset is about training settings.
    setForm((f) => ({ ...presetForm(preset), dataset: f.dataset }));
    setErrors({});
    setFormError(null);
  };

  const readTopology = (file: File | null): void => {
    setTopologyFile(null);
    set('topology', null);
    if (file === null) return;
    const reader = new FileReader();
    setTopologyRead({ loaded: 0, total: file.size });
    reader.onprogress = (e) =>
      setTopologyRead({ loaded: e.loaded, total: e.lengthComputable ? e.total : file.size });
    reader.onerror = () => {
      setTopologyRead(null);
      setErrors((e) => ({ ...e, topology: `could not read ${file.name}` }));
    };
    reader.onload = () => {
      setTopologyRead({ loaded: file.size, total: file.size });
      try {
        const topology = topologyFromModelJson(typeof reader.result === 'string' ? reader.result : '');
        const config = topology.config as { layers?: unknown } | undefined;
        setTopologyFile({
          fileName: file.name,
          bytes: file.size,
          className: typeof topology.class_name === 'string' ? topology.class_name : 'unknown',
          layers: Array.isArray(config?.layers) ? config.layers.length : null,
        });
        set('topology', topology);
      } catch (error) {
        setErrors((e) => ({ ...e, topology: `${file.name}: ${(error as Error).message}` }));
      }
    };
    reader.readAsText(file);
  };

  const onDataset = (dataset: DatasetSummary): void => {
    setDatasets((list) => [...list.filter((d) => d.id !== dataset.id), dataset]);
    set('dataset', dataset.id);
  };

  const submit = async (e: FormEvent<HTMLFormElement>): Promise<void> => {
    e.preventDefault();
    if (!canWrite || submitting) return;
    setErrors({});
    setFormError(null);
    setSubmitting(true);
    setSendProgress(null);
    try {
      const job = await api.submitJob(formToSpec(form), tokens.get().token, setSendProgress);
      store.update((s) => withJobs(s, [job], Date.now()));
      navigate({ page: 'job', jobId: job.id });
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) {
        const { path, text } = splitServerMessage(error.message);
        const field = path === null ? null : fieldForPath(path, form);
        if (field !== null) {
          focusNext.current = field;
          setErrors({ [field]: text });
          setFormError('The coordinator did not accept the job: see the marked field.');
        } else {
          setFormError(error.message);
        }
      } else {
        setFormError(reportWriteError(tokens, error));
      }
    } finally {
      setSubmitting(false);
    }
  };

  const fieldError = (field: FieldKey): ReactNode =>
    errors[field] === undefined ? null : (
      <p
        className="field-error"
        id={errorId(field)}
        role="alert"
        data-testid={`field-error-${FIELD_PATHS[field]}`}
      >
        {errors[field]}
      </p>
    );

  const a11y = (field: FieldKey, hint?: string) => ({
    id: inputId(field),
    name: FIELD_PATHS[field],
    'data-testid': `field-${FIELD_PATHS[field]}`,
    'aria-invalid': errors[field] !== undefined || undefined,
    'aria-describedby':
      [errors[field] !== undefined ? errorId(field) : '', hint !== undefined ? `${inputId(field)}-hint` : '']
        .filter(Boolean)
        .join(' ') || undefined,
  });

  const numberField = (field: TextField, label: string, hint?: string, step = 'any'): ReactNode => (
    <div className={`field${errors[field] !== undefined ? ' invalid' : ''}`}>
      <label htmlFor={inputId(field)}>{label}</label>
      <input
        {...a11y(field, hint)}
        type="number"
        inputMode="decimal"
        step={step}
        value={form[field]}
        onChange={(e) => set(field, e.target.value)}
      />
      {hint !== undefined && (
        <p className="hint" id={`${inputId(field)}-hint`}>
          {hint}
        </p>
      )}
      {fieldError(field)}
    </div>
  );

  const selectField = <K extends 'optimizer' | 'averagingMode' | 'schedule' | 'codec' | 'preset'>(
    field: K,
    label: string,
    options: readonly JobForm[K][],
  ): ReactNode => (
    <div className={`field${errors[field] !== undefined ? ' invalid' : ''}`}>
      <label htmlFor={inputId(field)}>{label}</label>
      <select {...a11y(field)} value={form[field]} onChange={(e) => set(field, e.target.value as JobForm[K])}>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
      {fieldError(field)}
    </div>
  );

  const datasetInfo = datasets.find((d) => d.id === form.dataset);
  const shardSamples = Number(form.batchSize) * Number(form.localSteps);

  return (
    <form className="submit-form" onSubmit={(e) => void submit(e)} noValidate data-testid="submit-form">
      <section className="card">
        <h2>Start from a preset</h2>
        <div className="field-row">
          <div className="field">
            <label htmlFor="form-preset">Preset</label>
            <select
              id="form-preset"
              data-testid="form-preset"
              value={presetId}
              onChange={(e) => applyPreset(e.target.value)}
            >
              {FORM_PRESETS.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.label}
                </option>
              ))}
            </select>
            <p className="hint">{FORM_PRESETS.find((p) => p.id === presetId)?.description}</p>
          </div>
          <div className={`field grow${errors.name !== undefined ? ' invalid' : ''}`}>
            <label htmlFor={inputId('name')}>Job name</label>
            <input
              {...a11y('name')}
              type="text"
              value={form.name}
              onChange={(e) => set('name', e.target.value)}
            />
            {fieldError('name')}
          </div>
          {numberField(
            'priority',
            'Priority',
            'Share of volunteers against other running jobs (1–100).',
            '1',
          )}
        </div>
      </section>

      <section className="card">
        <h2>Model</h2>
        <fieldset className="radio-row">
          <legend className="visually-hidden">Model source</legend>
          <label className="check">
            <input
              type="radio"
              name="model-kind"
              data-testid="model-kind-preset"
              checked={form.modelKind === 'preset'}
              onChange={() => set('modelKind', 'preset')}
            />{' '}
            Built-in preset
          </label>
          <label className="check">
            <input
              type="radio"
              name="model-kind"
              data-testid="model-kind-topology"
              checked={form.modelKind === 'topology'}
              onChange={() => set('modelKind', 'topology')}
            />{' '}
            Upload a TensorFlow.js model (model.json)
          </label>
        </fieldset>
        {form.modelKind === 'preset' ? (
          selectField('preset', 'Preset model', MODEL_PRESETS as readonly ModelPreset[])
        ) : (
          <div className={`field${errors.topology !== undefined ? ' invalid' : ''}`}>
            <label htmlFor={inputId('topology')}>
              Model topology (a TF.js layers model.json; weights are not needed)
            </label>
            <input
              {...a11y('topology')}
              type="file"
              accept=".json,application/json"
              onChange={(e) => readTopology(e.target.files?.[0] ?? null)}
            />
            {topologyRead !== null && (
              <ProgressBar
                label="Reading model.json"
                testId="topology-progress"
                fraction={topologyRead.total ? topologyRead.loaded / topologyRead.total : null}
                text={`read ${formatBytes(topologyRead.loaded)} of ${formatBytes(topologyRead.total)}`}
              />
            )}
            {topologyFile !== null && (
              <p className="detail" data-testid="topology-summary">
                {topologyFile.fileName}: {topologyFile.className}
                {topologyFile.layers !== null && `, ${topologyFile.layers} layers`},{' '}
                {formatBytes(topologyFile.bytes)}. It is sent with the job spec.
              </p>
            )}
            {fieldError('topology')}
          </div>
        )}
      </section>

      <section className="card">
        <h2>Dataset</h2>
        <div className={`field${errors.dataset !== undefined ? ' invalid' : ''}`}>
          <label htmlFor={inputId('dataset')}>Dataset</label>
          <select {...a11y('dataset')} value={form.dataset} onChange={(e) => set('dataset', e.target.value)}>
            {!datasets.some((d) => d.id === form.dataset) && (
              <option value={form.dataset}>{form.dataset}</option>
            )}
            {datasets.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} ({d.id})
              </option>
            ))}
          </select>
          {datasetInfo !== undefined && (
            <p className="hint">
              {formatNumber(datasetInfo.trainSize)} training / {formatNumber(datasetInfo.testSize)} test
              samples, shape [{datasetInfo.featureShape.join(', ')}], {datasetInfo.numClasses} classes.
            </p>
          )}
          {fieldError('dataset')}
        </div>
        <details className="upload-details">
          <summary>Upload a dataset</summary>
          <DatasetUpload canWrite={canWrite} onUploaded={onDataset} />
        </details>
      </section>

      <section className="card">
        <h2>Training</h2>
        <div className="field-row">
          {selectField('optimizer', 'Optimizer', OPTIMIZERS)}
          {numberField('learningRate', 'Learning rate')}
          {form.optimizer === 'momentum' && (
            <>
              {numberField('momentum', 'Momentum')}
              <div className="field">
                <label className="check">
                  <input
                    {...a11y('nesterov')}
                    type="checkbox"
                    checked={form.nesterov}
                    onChange={(e) => set('nesterov', e.target.checked)}
                  />{' '}
                  Nesterov
                </label>
                {fieldError('nesterov')}
              </div>
            </>
          )}
          {form.optimizer === 'adam' && (
            <>
              {numberField('beta1', 'β₁')}
              {numberField('beta2', 'β₂')}
              {numberField('epsilon', 'ε')}
            </>
          )}
        </div>
        <div className="field-row">
          {numberField('batchSize', 'Batch size', undefined, '1')}
          {numberField(
            'localSteps',
            'Local steps per shard (H)',
            Number.isFinite(shardSamples) && shardSamples > 0
              ? `A shard holds ${formatNumber(shardSamples)} samples.`
              : undefined,
            '1',
          )}
          {numberField('epochs', 'Epochs', undefined, '1')}
          {numberField(
            'targetAccuracy',
            'Target accuracy',
            'Optional: stop once a checkpoint reaches it (0–1).',
          )}
          {numberField('seed', 'Seed', undefined, '1')}
        </div>
      </section>

      <section className="card">
        <h2>Averaging</h2>
        <div className="field-row">
          {selectField('averagingMode', 'Mode', AVERAGING_MODES)}
          {selectField('schedule', 'Gossip schedule', GOSSIP_SCHEDULES)}
          {selectField('codec', 'Codec', CODECS)}
          {form.codec === 'topk' && numberField('topkFraction', 'Top-k fraction')}
        </div>
        <div className="field-row">
          {numberField('exchangeTimeoutMs', 'Exchange timeout (ms)', undefined, '1')}
          {numberField('roundDeadlineMs', 'Round deadline (ms)', 'fedavg only', '1')}
          {numberField('quorum', 'Quorum', 'fedavg only: share of volunteers per round')}
          {numberField('maxNormRatio', 'Max norm ratio')}
        </div>
      </section>

      <section className="card">
        <h2>Checkpoints</h2>
        <div className="field-row">
          {numberField('checkpointEvery', 'Every (shards)', undefined, '1')}
          {numberField('checkpointContributors', 'Contributors', undefined, '1')}
          {numberField('checkpointUploadTimeoutMs', 'Upload timeout (ms)', undefined, '1')}
          {numberField('checkpointMaxNormRatio', 'Max norm ratio')}
        </div>
      </section>

      <div className="submit-bar">
        <button
          type="submit"
          className="button primary"
          data-testid="submit-job"
          disabled={!canWrite || submitting}
          aria-describedby={canWrite ? undefined : READ_ONLY_HINT_ID}
        >
          {submitting ? 'Submitting…' : 'Submit job'}
        </button>
        {!canWrite && <span className="detail">Submitting needs the operator token.</span>}
        {submitting && sendProgress !== null && (
          <ProgressBar
            label="Sending the job spec"
            testId="submit-progress"
            fraction={sendProgress.total ? sendProgress.loaded / sendProgress.total : null}
            text={`sent ${formatBytes(sendProgress.loaded)}`}
          />
        )}
        {formError !== null && (
          <p className="error" role="alert" data-testid="form-error">
            {formError}
          </p>
        )}
      </div>
    </form>
  );
}
