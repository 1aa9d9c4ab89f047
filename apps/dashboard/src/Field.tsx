/**
 * One form field: its label, the control, a hint and an error under it. The control carries
 * `id`; the hint and error take `${id}-hint` and `${id}-error`, for the control's aria-describedby.
 */
import type { ReactNode } from 'react';

type Props = {
  /** The control's id. */
  readonly id: string;
  /** Without one, the control brings its own (a checkbox inside its label). */
  readonly label?: ReactNode;
  readonly hint?: ReactNode;
  readonly error?: string | undefined;
  readonly errorTestId?: string;
  /** Takes the row's free width. */
  readonly grow?: boolean;
  readonly children: ReactNode;
};

export const hintId = (id: string): string => `${id}-hint`;
export const errorId = (id: string): string => `${id}-error`;

export function Field({ id, label, hint, error, errorTestId, grow = false, children }: Props) {
  const classes = ['field', grow ? 'grow' : '', error !== undefined ? 'invalid' : ''].filter(Boolean);
  return (
    <div className={classes.join(' ')}>
      {label !== undefined && <label htmlFor={id}>{label}</label>}
      {children}
      {hint !== undefined && (
        <p className="hint" id={hintId(id)}>
          {hint}
        </p>
      )}
      {error !== undefined && (
        <p className="field-error" id={errorId(id)} role="alert" data-testid={errorTestId}>
          {error}
        </p>
      )}
    </div>
  );
}
