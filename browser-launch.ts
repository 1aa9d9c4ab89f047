/**
 * How every test launches Chromium: the system build from Debian (nothing can be downloaded
 * here) with WebGPU enabled. Shared by Vitest's browser project and Playwright.
 */
export const CHROMIUM_PATH = process.env.TABSWARM_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--enable-unsafe-webgpu',
];
