/**
 * The volunteer page's debug material, folded away behind a closed toggle: what a volunteer needs
 * (the job, status, training and Pause) stays in view above it. The frame history is bounded
 * (session.ts keeps the latest MAX_RECEIVED_RECORDS).
 */
import { Card, DataTable } from '@tabswarm/ui';
import type { VolunteerState } from './store.ts';

const FRAME_COLUMNS = [
  { label: 'From' },
  { label: 'Elements' },
  { label: 'Checksum' },
  { label: 'Result' },
] as const;

export function DebugDetails({ state }: { readonly state: VolunteerState }) {
  return (
    <details className="details" data-testid="details">
      <summary>Details: GPU limits and frames received from peers</summary>
      {state.adapter !== null && (
        <Card title="GPU limits">
          <dl className="facts compact">
            {Object.entries(state.adapter.limits).map(([name, value]) => (
              <div key={name} className="fact-row">
                <dt>{name}</dt>
                <dd className="mono">{value.toLocaleString()}</dd>
              </div>
            ))}
          </dl>
        </Card>
      )}

      {state.receivedFrames.length > 0 && (
        <Card title="Frames received">
          <DataTable columns={FRAME_COLUMNS}>
            {state.receivedFrames.map((r, i) => (
              <tr key={i} data-testid="received-frame">
                <td className="mono">{r.from}</td>
                <td>{r.elementCount.toLocaleString()}</td>
                <td className="mono">{r.checksum.toString(16).padStart(8, '0')}</td>
                <td>{r.ok ? 'verified' : r.error}</td>
              </tr>
            ))}
          </DataTable>
        </Card>
      )}
      {state.adapter === null && state.receivedFrames.length === 0 && (
        <p className="detail">No GPU adapter and no frames yet.</p>
      )}
    </details>
  );
}
