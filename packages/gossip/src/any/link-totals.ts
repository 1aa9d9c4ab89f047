/** Traffic on the links to one peer, summed over the transports it has had (open and closed). */
import type { FrameTransport } from './frame-transport.ts';

export interface LinkTotals {
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
}

export const noTraffic = (): LinkTotals => ({ bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0 });

/** Adds what `transport` has carried so far to `totals`. */
export function addTraffic(totals: LinkTotals, transport: FrameTransport): void {
  const s = transport.stats();
  totals.bytesIn += s.bytesReceived;
  totals.bytesOut += s.bytesSent;
  totals.framesIn += s.framesReceived;
  totals.framesOut += s.framesSent;
}
