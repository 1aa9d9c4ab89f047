/**
 * The submit form's fields bound to the form state through context: each knows its value, its
 * error from the coordinator, its test id and its accessible description from the field key.
 */
import { createContext, useContext, type ReactNode } from 'react';
import { Select } from '@tabswarm/ui';
import { errorId, Field, hintId } from './Field.tsx';
import { FIELD_PATHS, type FieldKey, type JobForm } from './job-form.ts';

export type FieldErrors = Partial<Record<FieldKey, string>>;

export interface JobFormBinding {
  readonly form: JobForm;
  readonly errors: FieldErrors;
  readonly set: <K extends keyof JobForm>(key: K, value: JobForm[K]) => void;
  /** Marks a field invalid from the page itself (a file that could not be read). */
  readonly setError: (field: FieldKey, message: string) => void;
}

export const JobFormContext = createContext<JobFormBinding | null>(null);

export function useJobForm(): JobFormBinding {
  const binding = useContext(JobFormContext);
  if (binding === null) throw new Error('a job form field outside <JobFormContext.Provider>');
  return binding;
}

/** Fields typed as free text (numbers among them), as opposed to choices and files. */
type TextField = { [K in keyof JobForm]: string extends JobForm[K] ? K : never }[keyof JobForm];
type ChoiceField = 'optimizer' | 'averagingMode' | 'schedule' | 'codec' | 'preset';

export const inputId = (field: FieldKey): string => `f-${field}`;

/** The control's id, name, test id and aria attributes. */
export function controlProps(field: FieldKey, errors: FieldErrors, hasHint = false) {
  const id = inputId(field);
  const invalid = errors[field] !== undefined;
  return {
    id,
    name: FIELD_PATHS[field],
    'data-testid': `field-${FIELD_PATHS[field]}`,
    'aria-invalid': invalid || undefined,
    'aria-describedby':
      [invalid ? errorId(id) : '', hasHint ? hintId(id) : ''].filter(Boolean).join(' ') || undefined,
  };
}

type BoundProps = {
  readonly field: FieldKey;
  readonly label?: ReactNode;
  readonly hint?: ReactNode;
  readonly grow?: boolean;
  readonly children: ReactNode;
};

/** A Field whose error is the form's error for `field`. */
export function BoundField({ field, label, hint, grow = false, children }: BoundProps) {
  const { errors } = useJobForm();
  return (
    <Field
      id={inputId(field)}
      label={label}
      hint={hint}
      error={errors[field]}
      errorTestId={`field-error-${FIELD_PATHS[field]}`}
      grow={grow}
    >
      {children}
    </Field>
  );
}

export function NumberField({
  field,
  label,
  hint,
  step = 'any',
}: {
  readonly field: TextField;
  readonly label: string;
  readonly hint?: string | undefined;
  readonly step?: string;
}) {
  const { form, errors, set } = useJobForm();
  return (
    <BoundField field={field} label={label} hint={hint}>
      <input
        {...controlProps(field, errors, hint !== undefined)}
        type="number"
        inputMode="decimal"
        step={step}
        value={form[field]}
        onChange={(e) => set(field, e.target.value)}
      />
    </BoundField>
  );
}

export function SelectField<K extends ChoiceField>({
  field,
  label,
  options,
}: {
  readonly field: K;
  readonly label: string;
  readonly options: readonly JobForm[K][];
}) {
  const { form, errors, set } = useJobForm();
  return (
    <BoundField field={field} label={label}>
      <Select<string>
        {...controlProps(field, errors)}
        options={options.map((o) => ({ value: o, label: o }))}
        value={form[field]}
        onChange={(value) => set(field, value as JobForm[K])}
      />
    </BoundField>
  );
}
