/** The reason write controls are disabled; controls point at it with aria-describedby. */
export const READ_ONLY_HINT_ID = 'read-only-hint';

export function ReadOnlyHint({ canWrite }: { readonly canWrite: boolean }) {
  if (canWrite) return null;
  return (
    <p className="hint" id={READ_ONLY_HINT_ID} data-testid="read-only-hint" role="note">
      Read-only: enter the operator token (top right) to submit jobs, upload data and pause, resume or cancel.
    </p>
  );
}
