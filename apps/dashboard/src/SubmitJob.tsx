/**
 * The submit form: a preset to start from, every job-spec field with its default filled in, a
 * model.json and a dataset to upload, and the coordinator's validation messages shown next to
 * the field they are about. A submitted job opens its page.
 */
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { AVERAGING_MODES, CODECS, GOSSIP_SCHEDULES, MODEL_PRESETS, OPTIMIZERS } from '@tabswarm/protocol';
import { Card, Select } from '@tabswarm/ui';
import { ApiError, type UploadProgress } from './api.ts';
import { DatasetField } from './DatasetField.tsx';
import { Field } from './Field.tsx';
import { formatBytes, formatNumber } from './format.ts';
import {
  defaultForm,
  fieldForPath,
  FORM_PRESETS,
  formToSpec,
  presetForm,
  splitServerMessage,
  type FieldKey,
  type JobForm,
} from './job-form.ts';
import {
  BoundField,
  controlProps,
  inputId,
  JobFormContext,
  NumberField,
  SelectField,
  type FieldErrors,
  type JobFormBinding,
} from './JobFormFields.tsx';
import { navigate } from './routes.ts';
import { reportWriteError, useServices } from './services.ts';
import { withJobs } from './store.ts';
import { TopologyField } from './TopologyField.tsx';
import { ProgressBar } from './ProgressBar.tsx';
import { READ_ONLY_HINT_ID } from './ReadOnlyHint.tsx';

type Props = {
  readonly canWrite: boolean;
};

const PRESET_CHOICES = FORM_PRESETS.map((p) => ({ value: p.id, label: p.label }));

export function SubmitJob({ canWrite }: Props) {
  const { api, store, tokens } = useServices();
  const [form, setForm] = useState<JobForm>(defaultForm);
  const [presetId, setPresetId] = useState(FORM_PRESETS[0]?.id ?? '');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const [sendProgress, setSendProgress] = useState<UploadProgress | null>(null);
  const focusNext = useRef<FieldKey | null>(null);

  useEffect(() => {
    const field = focusNext.current;
    if (field === null) return;
    focusNext.current = null;
    document.getElementById(inputId(field))?.focus();
  }, [errors]);

  const binding = useMemo((): JobFormBinding => {
    const set = <K extends keyof JobForm>(key: K, value: JobForm[K]): void => {
      setForm((f) => ({ ...f, [key]: value }));
      setErrors((e) => {
        if (e[key] === undefined) return e;
        const next = { ...e };
        delete next[key];
        return next;
      });
    };
    const setError = (field: FieldKey, message: string): void =>
      setErrors((e) => ({ ...e, [field]: message }));
    return { form, errors, set, setError };
  }, [form, errors]);
  const { set } = binding;

  const applyPreset = (id: string): void => {
    setPresetId(id);
    const preset = FORM_PRESETS.find((p) => p.id === id);
    if (preset === undefined) return;
    // Keep the chosen dataset and an uploaded model: a preset is about training settings.
    setForm((f) => ({ ...presetForm(preset), dataset: f.dataset }));
    setErrors({});
    setFormError(null);
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

  const shardSamples = Number(form.batchSize) * Number(form.localSteps);

  return (
    <JobFormContext.Provider value={binding}>
      <form className="submit-form" onSubmit={(e) => void submit(e)} noValidate data-testid="submit-form">
        <Card title="Start from a preset">
          <div className="field-row">
            <Field
              id="form-preset"
              label="Preset"
              hint={FORM_PRESETS.find((p) => p.id === presetId)?.description}
            >
              <Select
                id="form-preset"
                data-testid="form-preset"
                options={PRESET_CHOICES}
                value={presetId}
                onChange={applyPreset}
              />
            </Field>
            <BoundField field="name" label="Job name" grow>
              <input
                {...controlProps('name', errors)}
                type="text"
                value={form.name}
                onChange={(e) => set('name', e.target.value)}
              />
            </BoundField>
            <NumberField
              field="priority"
              label="Priority"
              hint="Share of volunteers against other running jobs (1–100)."
              step="1"
            />
          </div>
        </Card>

        <Card title="Model">
          <fieldset className="radio-row">
            <legend className="visually-hidden">Model source</legend>
            {(
              [
                ['preset', 'Built-in preset'],
                ['topology', 'Upload a TensorFlow.js model (model.json)'],
              ] as const
            ).map(([kind, label]) => (
              <label className="check" key={kind}>
                <input
                  type="radio"
                  name="model-kind"
                  data-testid={`model-kind-${kind}`}
                  checked={form.modelKind === kind}
                  onChange={() => set('modelKind', kind)}
                />{' '}
                {label}
              </label>
            ))}
          </fieldset>
          {form.modelKind === 'preset' ? (
            <SelectField field="preset" label="Preset model" options={MODEL_PRESETS} />
          ) : (
            <TopologyField />
          )}
        </Card>

        <Card title="Dataset">
          <DatasetField canWrite={canWrite} />
        </Card>

        <Card title="Training">
          <div className="field-row">
            <SelectField field="optimizer" label="Optimizer" options={OPTIMIZERS} />
            <NumberField field="learningRate" label="Learning rate" />
            {form.optimizer === 'momentum' && (
              <>
                <NumberField field="momentum" label="Momentum" />
                <BoundField field="nesterov">
                  <label className="check">
                    <input
                      {...controlProps('nesterov', errors)}
                      type="checkbox"
                      checked={form.nesterov}
                      onChange={(e) => set('nesterov', e.target.checked)}
                    />{' '}
                    Nesterov
                  </label>
                </BoundField>
              </>
            )}
            {form.optimizer === 'adam' && (
              <>
                <NumberField field="beta1" label="β₁" />
                <NumberField field="beta2" label="β₂" />
                <NumberField field="epsilon" label="ε" />
              </>
            )}
          </div>
          <div className="field-row">
            <NumberField field="batchSize" label="Batch size" step="1" />
            <NumberField
              field="localSteps"
              label="Local steps per shard (H)"
              hint={
                Number.isFinite(shardSamples) && shardSamples > 0
                  ? `A shard holds ${formatNumber(shardSamples)} samples.`
                  : undefined
              }
              step="1"
            />
            <NumberField field="epochs" label="Epochs" step="1" />
            <NumberField
              field="targetAccuracy"
              label="Target accuracy"
              hint="Optional: stop once a checkpoint reaches it (0–1)."
            />
            <NumberField field="seed" label="Seed" step="1" />
          </div>
        </Card>

        <Card title="Averaging">
          <div className="field-row">
            <SelectField field="averagingMode" label="Mode" options={AVERAGING_MODES} />
            <SelectField field="schedule" label="Gossip schedule" options={GOSSIP_SCHEDULES} />
            <SelectField field="codec" label="Codec" options={CODECS} />
            {form.codec === 'topk' && <NumberField field="topkFraction" label="Top-k fraction" />}
          </div>
          <div className="field-row">
            <NumberField field="exchangeTimeoutMs" label="Exchange timeout (ms)" step="1" />
            <NumberField field="roundDeadlineMs" label="Round deadline (ms)" hint="fedavg only" step="1" />
            <NumberField field="quorum" label="Quorum" hint="fedavg only: share of volunteers per round" />
            <NumberField field="maxNormRatio" label="Max norm ratio" />
          </div>
        </Card>

        <Card title="Checkpoints">
          <div className="field-row">
            <NumberField field="checkpointEvery" label="Every (shards)" step="1" />
            <NumberField field="checkpointContributors" label="Contributors" step="1" />
            <NumberField field="checkpointUploadTimeoutMs" label="Upload timeout (ms)" step="1" />
            <NumberField field="checkpointMaxNormRatio" label="Max norm ratio" />
          </div>
        </Card>

        <Card title="Validated work">
          <div className="field-row">
            <NumberField
              field="replication"
              label="Replication"
              hint="share of shards a second volunteer also trains (0–1); empty: off"
            />
            <NumberField
              field="validationTolerance"
              label="Tolerance"
              hint="how far two replicas may differ, relative (default 0.05)"
            />
          </div>
        </Card>

        <Card title="Differential privacy">
          <div className="field-row">
            <NumberField
              field="clipNorm"
              label="Clip norm"
              hint="largest norm a shard's update keeps; empty (with the multiplier): off"
            />
            <NumberField
              field="noiseMultiplier"
              label="Noise multiplier"
              hint="Gaussian noise of this × the clip norm per parameter"
            />
            <NumberField field="privacyDelta" label="δ" hint="of the reported (ε, δ); default 1e-5" />
          </div>
        </Card>

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
    </JobFormContext.Provider>
  );
}
