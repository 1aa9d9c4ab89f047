/**
 * Which web pages may open the coordinator's sockets (socket.io and PeerJS signalling). A browser
 * sends the page's Origin with every WebSocket and cross-site request; without this check any site a
 * person visits could join the swarm as them, or read the dashboard's live feed. Allowed: the
 * coordinator's own origin (same host and port as the request's Host), plus the origins the
 * operator lists (--allowed-origins). Requests without an Origin come from programs, not pages
 * (virtual volunteers, the simulation harness, curl): an origin check cannot constrain those —
 * they could send any Origin they like — so they pass on to the usual authentication.
 */
import type { IncomingMessage } from 'node:http';

export class OriginListError extends Error {
  override name = 'OriginListError';
}

/** `https://example.org:8443` from an allowed-origins entry; throws on anything that is not an origin. */
export function normaliseOrigin(entry: string): string {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    throw new OriginListError(`"${entry}" is not an origin like https://example.org`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OriginListError(`"${entry}" must start with http:// or https://`);
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '') {
    throw new OriginListError(`"${entry}" must be an origin only (scheme, host, port), with no path`);
  }
  return url.origin;
}

/** Parses a comma-separated list of origins (the flag's value). */
export function parseOriginList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(normaliseOrigin);
}

export type OriginVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export function checkOrigin(
  origin: string | undefined,
  host: string | undefined,
  allowed: readonly string[],
): OriginVerdict {
  if (origin === undefined) return { ok: true };
  // Sandboxed frames and file: pages send "null": no site to allow.
  if (origin === 'null') return { ok: false, reason: 'origin null is not allowed' };
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return { ok: false, reason: 'the Origin header is not an origin' };
  }
  if (host !== undefined && parsed.host === host.toLowerCase()) return { ok: true };
  if (allowed.includes(parsed.origin)) return { ok: true };
  return { ok: false, reason: `origin ${parsed.origin} is not allowed` };
}

export function checkRequestOrigin(req: IncomingMessage, allowed: readonly string[]): OriginVerdict {
  return checkOrigin(req.headers.origin, req.headers.host, allowed);
}
