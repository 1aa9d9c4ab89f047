/**
 * The page launcher every browser part shares: serves a benchmark page with Vite, opens it in the
 * system Chromium (WebGPU enabled, as the tests launch it) and waits for the page's API global.
 * One browser process per page: two pages are two WebRTC stacks, as two volunteers' tabs would be.
 */
import { chromium, type Browser, type Page } from 'playwright';
import { createServer, type ViteDevServer } from 'vite';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../../../browser-launch.ts';

export interface BenchPagesOptions {
  /** The folder holding the page's index.html. */
  readonly root: string;
  /** The window property the page sets once its API is ready. */
  readonly readyGlobal: string;
  /** Browser processes, one page each. */
  readonly browsers?: number;
  readonly log: (line: string) => void;
}

export interface BenchPages {
  readonly pages: readonly Page[];
  /** Chromium's version string, e.g. "146.0.7680.80". */
  readonly chromiumVersion: string;
  close(): Promise<void>;
}

/** The first load makes Vite bundle tfjs for the page: that can take a minute on a cold cache. */
const READY_TIMEOUT_MS = 180_000;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
}

export async function openBenchPages(options: BenchPagesOptions): Promise<BenchPages> {
  const vite: ViteDevServer = await createServer({
    configFile: false,
    root: options.root,
    logLevel: 'warn',
    clearScreen: false,
    // No file watching, no hot reload: a source file saved during a run (or a checkout) must not
    // reload a page mid-measurement ("Execution context was destroyed" in one e2e run).
    server: { host: '127.0.0.1', port: 0, watch: null, hmr: false },
  });
  const browsers: Browser[] = [];
  const close = async (): Promise<void> => {
    await Promise.allSettled(browsers.map((b) => b.close()));
    await vite.close();
  };
  try {
    await vite.listen();
    const url = vite.resolvedUrls?.local[0];
    if (url === undefined) throw new Error('Vite did not report a URL');
    const pages: Page[] = [];
    for (let i = 0; i < (options.browsers ?? 1); i++) {
      const browser = await launchChromium();
      browsers.push(browser);
      const page = await browser.newPage();
      page.on('pageerror', (error) => options.log(`[page ${i}] ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') options.log(`[page ${i}] ${message.text()}`);
      });
      await page.goto(url);
      await page.waitForFunction((name) => name in window, options.readyGlobal, {
        timeout: READY_TIMEOUT_MS,
      });
      pages.push(page);
    }
    return { pages, chromiumVersion: browsers[0]?.version() ?? 'unknown', close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Opens the pages, runs `body`, and closes everything whatever happens. */
export async function withBenchPages<T>(
  options: BenchPagesOptions,
  body: (pages: readonly Page[]) => Promise<T>,
): Promise<T> {
  const opened = await openBenchPages(options);
  try {
    return await body(opened.pages);
  } finally {
    await opened.close();
  }
}
