/** The dashboard: the coordinator connection and a live table of volunteer nodes. */
import type { NodeInfo } from '@tabswarm/protocol';
import { adapterLabel, formatAge, selfTestLabel, sortNodes } from './format.ts';
import { useStoreState, type DashboardStore } from './store.ts';
import { useNow } from './use-now.ts';

type Props = {
  readonly store: DashboardStore;
};

type RowProps = {
  readonly node: NodeInfo;
  readonly serverNow: number;
};

function NodeRow({ node, serverNow }: RowProps) {
  const selfTest = selfTestLabel(node);
  const report = node.selfTest;
  return (
    <tr
      data-testid="node-row"
      data-node-id={node.id}
      data-status={node.status}
      data-backend={node.capabilities.backend}
      className={node.status === 'gone' ? 'gone' : undefined}
    >
      <td className="mono">{node.id}</td>
      <td>
        <span className={`badge status-${node.status}`}>{node.status}</span>
      </td>
      <td>
        <span className="mono">{node.capabilities.backend}</span>
        {node.capabilities.fallbackReason !== null && (
          <span className="detail" title={node.capabilities.fallbackReason}>
            {' '}
            (fallback)
          </span>
        )}
      </td>
      <td>{adapterLabel(node.capabilities.adapter)}</td>
      <td>{node.state}</td>
      <td>
        <span className={`badge selftest-${selfTest}`} title={report?.error ?? undefined}>
          {selfTest}
        </span>
        {report !== null && <span className="detail"> {report.path}</span>}
      </td>
      <td data-testid="last-seen">{formatAge(node.lastSeenAt, serverNow)}</td>
    </tr>
  );
}

export function App({ store }: Props) {
  const state = useStoreState(store);
  const now = useNow(1000);
  const serverNow = now + state.clockOffsetMs;
  const nodes = sortNodes(state.nodes.values());
  const active = nodes.filter((n) => n.status === 'active').length;
  return (
    <main className="page">
      <header className="page-header">
        <h1>tabswarm dashboard</h1>
        <div className="actions">
          <span>Coordinator</span>
          <span className={`badge state-${state.connection}`} data-testid="dashboard-connection">
            {state.connection}
          </span>
          {state.connectionDetail !== null && <span className="detail">{state.connectionDetail}</span>}
        </div>
      </header>

      <section className="card">
        <h2>
          Nodes{' '}
          <span className="detail">
            <span data-testid="active-count">{active}</span> active of{' '}
            <span data-testid="node-count">{nodes.length}</span>
          </span>
        </h2>
        {nodes.length === 0 ? (
          <p className="empty">No volunteer has joined yet. Open the volunteer page and press Start.</p>
        ) : (
          <table className="table" data-testid="node-table">
            <thead>
              <tr>
                <th>Node</th>
                <th>Status</th>
                <th>Backend</th>
                <th>Adapter</th>
                <th>State</th>
                <th>Self-test</th>
                <th>Last heartbeat</th>
              </tr>
            </thead>
            <tbody>
              {nodes.map((node) => (
                <NodeRow key={node.id} node={node} serverNow={serverNow} />
              ))}
            </tbody>
          </table>
        )}
      </section>
    </main>
  );
}
