/**
 * This volunteer's own standing from validated work (GET /api/credit/:nodeId), re-read every few
 * seconds while it has a node id: credit, trust and whether the coordinator distrusts it.
 */
import { useEffect, useState } from 'react';
import { parseReply, type VolunteerTrust } from '@tabswarm/protocol';

export interface CreditState {
  /** null: none of its work was judged yet (or not joined). */
  readonly trust: VolunteerTrust | null;
  readonly error: string | null;
}

export function useCredit(nodeId: string | null, intervalMs = 10_000): CreditState {
  const [state, setState] = useState<CreditState>({ trust: null, error: null });
  useEffect(() => {
    if (nodeId === null) return undefined;
    let cancelled = false;
    const load = async (): Promise<void> => {
      try {
        const res = await fetch(`${location.origin}/api/credit/${encodeURIComponent(nodeId)}`);
        if (res.status === 404) return; // not known yet: joined a moment ago
        const parsed = parseReply('GET /api/credit/:nodeId', await res.json());
        if (!parsed.ok) throw parsed.error;
        if (!cancelled) setState({ trust: parsed.value.trust, error: null });
      } catch (error) {
        if (!cancelled)
          setState((s) => ({
            trust: s.trust,
            error: error instanceof Error ? error.message : String(error),
          }));
      }
    };
    void load();
    const timer = setInterval(() => void load(), intervalMs);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [nodeId, intervalMs]);
  return state;
}
