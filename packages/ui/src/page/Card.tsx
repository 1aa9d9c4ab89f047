/**
 * A page section as a card: a heading, optionally with actions on its right (a button, a link),
 * then the body. With `headingId` the section is labelled by its heading.
 */
import type { ReactNode } from 'react';

type Props = {
  readonly title: ReactNode;
  readonly headingId?: string;
  /** Shown on the heading's line, at the right. */
  readonly actions?: ReactNode;
  readonly children?: ReactNode;
  readonly testId?: string;
};

export function Card({ title, headingId, actions, children, testId }: Props) {
  const heading = <h2 id={headingId}>{title}</h2>;
  return (
    <section className="card" aria-labelledby={headingId} data-testid={testId}>
      {actions === undefined ? (
        heading
      ) : (
        <div className="card-header">
          {heading}
          {actions}
        </div>
      )}
      {children}
    </section>
  );
}
