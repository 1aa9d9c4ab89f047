/**
 * The security headers of the two built pages. Anyone can open the volunteer page, and it runs
 * code on a stranger's GPU, so it gets the strictest policy its code allows:
 * - a Content-Security-Policy with no inline script and no eval — only 'wasm-unsafe-eval' on the
 *   volunteer page, which TensorFlow.js's WebAssembly backend needs to compile its .wasm files —,
 *   and no Blob or data: scripts or workers (the trainer's worker is a same-origin file; see
 *   packages/trainer's backend.ts for why the WebAssembly backend runs without threads);
 * - COOP same-origin + COEP require-corp, so the page is cross-origin isolated
 *   (`crossOriginIsolated === true`: SharedArrayBuffer, hence WebAssembly threads, and precise
 *   timers are available, and no other origin's window shares its process);
 * - no framing, no sniffing, no referrer.
 * Everything the pages load (scripts, worker, .wasm, CSS, socket.io, PeerJS signalling) comes from
 * the coordinator's own origin; WebRTC data channels are not subject to connect-src.
 */
import type { Response } from 'express';

export type PageName = 'volunteer' | 'dashboard';

const COMMON_DIRECTIVES = [
  "default-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
];

const PAGE_DIRECTIVES: Record<PageName, readonly string[]> = {
  volunteer: ["script-src 'self' 'wasm-unsafe-eval'", "worker-src 'self'"],
  dashboard: ["script-src 'self'", "worker-src 'none'"],
};

/** The Content-Security-Policy header value of a page. */
export function contentSecurityPolicy(page: PageName): string {
  return [...COMMON_DIRECTIVES, ...PAGE_DIRECTIVES[page]].join('; ');
}

/** Every header a page's responses carry (its HTML, scripts, worker, .wasm and CSS alike). */
export function pageSecurityHeaders(page: PageName): Readonly<Record<string, string>> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(page),
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  };
}

export function setPageSecurityHeaders(res: Response, page: PageName): void {
  for (const [name, value] of Object.entries(pageSecurityHeaders(page))) res.setHeader(name, value);
}
