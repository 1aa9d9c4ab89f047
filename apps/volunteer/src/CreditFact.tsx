/** The volunteer's credit (validated samples) and standing, as one line of its Status card. */
import type { VolunteerTrust } from '@tabswarm/protocol';

type Props = { readonly trust: VolunteerTrust | null };

export function CreditFact({ trust }: Props) {
  if (trust === null)
    return (
      <dd data-testid="credit">
        0{' '}
        <span className="detail">
          validated samples so far — credit comes once a replica confirms your work
        </span>
      </dd>
    );
  return (
    <dd data-testid="credit" data-standing={trust.standing}>
      <span data-testid="credit-samples">{trust.credit.toLocaleString('en-US')}</span> validated samples{' '}
      <span className={`badge trust-${trust.standing}`}>{trust.standing}</span>
      <span className="detail">
        {' '}
        trust {trust.trust.toFixed(2)} · {trust.valid} agreed, {trust.invalid} outvoted
        {trust.standing === 'distrusted' && ' — the coordinator gives this volunteer no more work'}
      </span>
    </dd>
  );
}
