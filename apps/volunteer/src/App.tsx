/** The volunteer page: consent (Start / Stop), the work it will do, what this tab is, and how it is doing. */
import { Card, formatElapsed, useNow, useStoreState } from '@tabswarm/ui';
import { DebugDetails } from './DebugDetails.tsx';
import { JobCard } from './JobCard.tsx';
import type { VolunteerSession } from './session.ts';
import type { VolunteerState, VolunteerStore } from './store.ts';
import { TrainingCard } from './TrainingCard.tsx';
import { CreditFact } from './CreditFact.tsx';
import { useCredit } from './use-credit.ts';

type Props = {
  readonly session: VolunteerSession;
  readonly store: VolunteerStore;
};

function adapterLabel(state: VolunteerState): string {
  const a = state.adapter;
  if (a === null) return state.webgpuReason ?? 'not detected yet';
  const name =
    [a.vendor, a.architecture, a.device].filter((part) => part !== '').join(' / ') || 'unnamed adapter';
  return a.isFallbackAdapter ? `${name} (fallback adapter)` : name;
}

function Uptime({ startedAt }: { readonly startedAt: number | null }) {
  const now = useNow(1000);
  return <span data-testid="uptime">{startedAt === null ? '—' : formatElapsed(now - startedAt)}</span>;
}

export function App({ session, store }: Props) {
  const state = useStoreState(store);
  const credit = useCredit(state.nodeId);
  const report = state.selfTestReport;
  return (
    <main className="page">
      <header className="page-header">
        <h1>tabswarm volunteer</h1>
        <p className="lede">
          Lend this tab&apos;s GPU to a shared training job: it trains the job&apos;s model on the shards the
          coordinator hands out. Nothing runs and no connection is made until you press Start; Stop ends
          everything at once.
        </p>
        <div className="actions">
          <button
            type="button"
            className="button primary"
            data-testid="start-button"
            disabled={state.running}
            onClick={() => void session.start()}
          >
            Start
          </button>
          <button
            type="button"
            className="button"
            data-testid="stop-button"
            disabled={!state.running}
            onClick={() => session.stop()}
          >
            Stop
          </button>
          <span className="step">{state.step}</span>
        </div>
      </header>

      <JobCard state={state} />

      <Card title="Status">
        <dl className="facts">
          <dt>Coordinator</dt>
          <dd>
            <span className={`badge state-${state.connection}`} data-testid="connection-state">
              {state.connection}
            </span>
            {state.connectionDetail !== null && (
              <span className="detail" data-testid="connection-detail">
                {state.connectionDetail}
              </span>
            )}
          </dd>
          <dt>Node id</dt>
          <dd className="mono" data-testid="node-id">
            {state.nodeId ?? ''}
          </dd>
          <dt>Backend</dt>
          <dd>
            <span className="mono" data-testid="backend">
              {state.backend ?? ''}
            </span>
            {state.fallbackReason !== null && (
              <span className="detail">fell back: {state.fallbackReason}</span>
            )}
          </dd>
          <dt>Adapter</dt>
          <dd data-testid="adapter">{adapterLabel(state)}</dd>
          <dt>Self-test</dt>
          <dd>
            <span className={`badge selftest-${state.selfTest}`} data-testid="self-test">
              {state.selfTest}
            </span>
            {report !== null && (
              <span className="detail">
                mix kernel on {report.path}, {report.elements.toLocaleString()} elements,{' '}
                {report.durationMs.toFixed(0)} ms
                {report.maxAbsError !== null && `, max error ${report.maxAbsError.toExponential(2)}`}
                {report.error !== null && ` — ${report.error}`}
              </span>
            )}
          </dd>
          <dt>Peers</dt>
          <dd>
            {/* The coordinator's view of the swarm includes this tab itself. */}
            <span data-testid="peer-count">
              {state.peers.filter((p) => p.nodeId !== state.nodeId).length}
            </span>
            <span className="detail">
              peer network: <span data-testid="peer-server">{state.peerServer}</span>
              {state.peerServerDetail !== null && ` (${state.peerServerDetail})`}
            </span>
          </dd>
          <dt>Credit</dt>
          <CreditFact trust={credit.trust} />
          <dt>Uptime</dt>
          <dd>
            <Uptime startedAt={state.startedAt} />
          </dd>
        </dl>
      </Card>

      <TrainingCard session={session} state={state} />

      <DebugDetails state={state} />
    </main>
  );
}
