/**
 * The swarm as a graph: live volunteers on a circle, their current links (from the volunteers'
 * gossip link reports) as edges coloured direct / relay / failed. Until a volunteer reports, it
 * draws the nodes and says so.
 */
import { useMemo } from 'react';
import { LINK_KINDS, type NodeInfo, type NodeLinks } from '@tabswarm/protocol';
import { countLinkKinds, deriveStatus, topologyLinks } from './node-view.ts';

type Props = {
  readonly nodes: ReadonlyMap<string, NodeInfo>;
  readonly links: ReadonlyMap<string, NodeLinks>;
  readonly serverNow: number;
};

const SIZE = 360;
const CENTER = SIZE / 2;
const RADIUS = 140;

/** Positions on a circle, starting at the top, clockwise; ids sorted so the layout is stable. */
export function circleLayout(ids: readonly string[]): Map<string, { x: number; y: number }> {
  const sorted = [...ids].sort();
  const n = sorted.length;
  return new Map(
    sorted.map((id, i) => {
      const angle = n === 1 ? -Math.PI / 2 : -Math.PI / 2 + (2 * Math.PI * i) / n;
      return [id, { x: CENTER + RADIUS * Math.cos(angle), y: CENTER + RADIUS * Math.sin(angle) }];
    }),
  );
}

export function Topology({ nodes, links, serverNow }: Props) {
  const live = [...nodes.values()].filter((n) => n.status !== 'gone');
  const positions = circleLayout(live.map((n) => n.id));
  const edges = useMemo(() => topologyLinks(links.values()), [links]);
  const drawable = edges.filter((l) => positions.has(l.from) && positions.has(l.to));
  const kinds = countLinkKinds(drawable);
  const labels = live.length <= 16;
  return (
    <section className="card" aria-labelledby="topology-heading">
      <h2 id="topology-heading">
        Topology <span className="detail">{live.length} live volunteers</span>
      </h2>
      <div className="topology">
        <svg
          viewBox={`0 0 ${SIZE} ${SIZE}`}
          role="img"
          aria-label={`${live.length} volunteers, ${drawable.length} links`}
          data-testid="topology"
          data-nodes={live.length}
          data-links={drawable.length}
        >
          <circle cx={CENTER} cy={CENTER} r={RADIUS} className="topology-ring" />
          {drawable.map((link) => {
            const a = positions.get(link.from);
            const b = positions.get(link.to);
            if (a === undefined || b === undefined) return null;
            return (
              <line
                key={`${link.from}-${link.to}`}
                x1={a.x}
                y1={a.y}
                x2={b.x}
                y2={b.y}
                className={`link link-${link.kind}`}
                data-testid="topology-link"
                data-kind={link.kind}
              >
                <title>{`${link.from} ↔ ${link.to}: ${link.kind}`}</title>
              </line>
            );
          })}
          {live.map((node) => {
            const p = positions.get(node.id);
            if (p === undefined) return null;
            const status = deriveStatus(node, serverNow);
            return (
              <g key={node.id} data-testid="topology-node" data-node-id={node.id}>
                <circle cx={p.x} cy={p.y} r={9} className={`topology-node node-${status}`}>
                  <title>{`${node.id} · ${node.capabilities.backend} · ${status}`}</title>
                </circle>
                {labels && (
                  <text
                    x={p.x}
                    y={p.y + (p.y < CENTER ? -14 : 22)}
                    textAnchor="middle"
                    className="topology-label"
                  >
                    {node.id.slice(0, 7)}
                  </text>
                )}
              </g>
            );
          })}
        </svg>
        <div className="topology-side">
          <ul className="legend" aria-label="Link colours">
            {LINK_KINDS.map((kind) => (
              <li key={kind}>
                <span className={`legend-line link-${kind}`} aria-hidden="true" /> {kind}{' '}
                <span className="detail" data-testid={`topology-count-${kind}`}>
                  ({kinds[kind]})
                </span>
              </li>
            ))}
          </ul>
          {drawable.length === 0 && (
            <p className="detail" data-testid="topology-no-links">
              {links.size === 0
                ? 'No link data yet: volunteers report their links (direct WebRTC, relayed through the coordinator, or failed) once they gossip. FedAvg jobs average on the coordinator and make none.'
                : 'No open or failed links between live volunteers right now.'}
            </p>
          )}
        </div>
      </div>
    </section>
  );
}
