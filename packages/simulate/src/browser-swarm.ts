/**
 * Volunteer browsers for a simulation: headless Chromium on the coordinator's volunteer page, one
 * process each or contexts of one process, pressed Start and then hurt on request — closed
 * without a goodbye (the renderer crashed first), taken offline, throttled (the DevTools protocol
 * for the page, and its whole Chromium stopped and continued for the worker and GPU process that
 * the protocol cannot reach), or cut off from some peers (the page's test API).
 */
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserServer,
  type CDPSession,
  type LaunchOptions,
  type Page,
} from 'playwright';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../../browser-launch.ts';
import type { BrowserBackend } from './plan.ts';
import { ProcessThrottle } from './process-throttle.ts';

/** The page's test API as far as the harness drives it (apps/volunteer/src/test-api-types.ts). */
interface PageTestApi {
  getState(): { nodeId: string | null; connection: string; backend: string | null; peers: unknown[] };
  trainer(): {
    phase: string;
    backend: string | null;
    shardsDone: number;
    samplesPerSec: number | null;
    lastLoss: number | null;
  } | null;
  /** No peer traffic with these node ids, relay included, until unblockPeers; false without a mesh. */
  blockPeers?(nodeIds: string[]): boolean;
  unblockPeers?(): boolean;
}

export interface BrowserObservation {
  readonly nodeId: string | null;
  readonly connection: string;
  readonly phase: string;
  readonly backend: string | null;
  readonly shardsDone: number;
  readonly samplesPerSec: number | null;
  readonly lastLoss: number | null;
}

export interface BrowserVolunteer {
  readonly label: string;
  readonly page: Page;
  readonly context: BrowserContext;
  /** Node ids it joined as (a new one after the coordinator forgot it). */
  readonly nodeIds: string[];
  alive: boolean;
}

export interface BrowserSwarmOptions {
  readonly url: string;
  /** One Chromium per volunteer, or contexts of one Chromium (less memory). */
  readonly mode: 'processes' | 'contexts';
  readonly backend: BrowserBackend | null;
  readonly log?: (line: string) => void;
}

/** Runs in the page (page.evaluate serialises the function, so no helper can be shared). */
declare const window: { readonly tabswarmTest: PageTestApi };

/**
 * Playwright's own signal handlers would close the browsers and exit the process on Ctrl-C,
 * before the simulation stops the rest of what it started (its coordinator, virtual volunteers)
 * and writes its report: the harness stops the browsers itself.
 */
const launchOptions = (): LaunchOptions => ({
  executablePath: CHROMIUM_PATH,
  args: [...CHROMIUM_ARGS],
  handleSIGINT: false,
  handleSIGTERM: false,
  handleSIGHUP: false,
});

/** How long each step of a kill may take before the next goes ahead. */
const KILL_STEP_MS = 5_000;

/** Waits for `promise` to settle, at most `ms`; never throws. */
async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}

/** How long a page load keeps being retried while the coordinator is down (a restart). */
const GOTO_RETRY_MS = 60_000;

/**
 * Loads the page, again every second while the coordinator refuses connections: a joiner that
 * arrives during a coordinator restart reloads, as a person would.
 */
async function gotoRetrying(page: Page, url: string): Promise<void> {
  const until = Date.now() + GOTO_RETRY_MS;
  for (;;) {
    try {
      await page.goto(url);
      return;
    } catch (error) {
      const down = /ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE/.test(String(error));
      if (!down || Date.now() > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

export class BrowserSwarm {
  readonly #options: BrowserSwarmOptions;
  readonly #volunteers = new Map<string, BrowserVolunteer>();
  readonly #browsers: Browser[] = [];
  readonly #servers = new Map<string, BrowserServer>();
  /** Per label in processes mode: its own Chromium's process tree, slowed as a whole. */
  readonly #throttles = new Map<string, ProcessThrottle>();
  readonly #cdp = new Map<string, CDPSession>();
  #shared: Promise<Browser> | null = null;
  #next = 0;

  constructor(options: BrowserSwarmOptions) {
    this.#options = options;
  }

  get volunteers(): readonly BrowserVolunteer[] {
    return [...this.#volunteers.values()];
  }

  get alive(): readonly BrowserVolunteer[] {
    return this.volunteers.filter((v) => v.alive);
  }

  get(label: string): BrowserVolunteer {
    const v = this.#volunteers.get(label);
    if (v === undefined) throw new Error(`no browser volunteer ${label}`);
    return v;
  }

  /** Opens the volunteer page, presses Start and waits until it joined; returns it. */
  async add(label = `browser-${++this.#next}`): Promise<BrowserVolunteer> {
    await this.open(label);
    return this.start(label);
  }

  /**
   * Launches its browser and loads the volunteer page without pressing Start: a joiner made ready
   * ahead of its moment (a Chromium start takes tens of seconds on a loaded machine).
   */
  async open(label = `browser-${++this.#next}`): Promise<BrowserVolunteer> {
    const context = await this.#newContext(label);
    const page = await context.newPage();
    const v: BrowserVolunteer = { label, page, context, nodeIds: [], alive: true };
    this.#volunteers.set(label, v);
    page.on('pageerror', (error) => this.#options.log?.(`[${label} page error] ${error.message}`));
    const query = this.#options.backend === null ? '' : `?backend=${this.#options.backend}`;
    await gotoRetrying(page, `${this.#options.url}/volunteer/${query}`);
    return v;
  }

  /** Presses Start on an opened page and waits until it joined. */
  async start(label: string): Promise<BrowserVolunteer> {
    const v = this.get(label);
    await v.page.getByTestId('start-button').click();
    await v.page.waitForFunction(() => window.tabswarmTest.getState().connection === 'connected', undefined, {
      timeout: 120_000,
    });
    await this.observe(label);
    return v;
  }

  /** Closes it without a goodbye: sockets and peer links just die. */
  async kill(label: string): Promise<void> {
    const v = this.get(label);
    if (!v.alive) return;
    v.alive = false;
    this.#throttles.get(label)?.release();
    if (this.#options.mode === 'processes') {
      // Its own Chromium: SIGKILL the whole browser, the closest thing to a closed laptop lid.
      // Every step is bounded: closing what was killed can hang.
      await settleWithin(this.#servers.get(label)?.kill() ?? Promise.resolve(), KILL_STEP_MS);
      this.#cdp.delete(label);
      await settleWithin(v.context.browser()?.close() ?? Promise.resolve(), KILL_STEP_MS);
      return;
    }
    // A context of the shared Chromium: its renderer crashes (a crashed page never answers
    // Page.crash, hence the bound), then the context is closed.
    await settleWithin(
      this.#session(v).then((cdp) => cdp.send('Page.crash')),
      KILL_STEP_MS,
    );
    this.#cdp.delete(label);
    await settleWithin(v.context.close(), KILL_STEP_MS);
  }

  /**
   * Off the network and back: the context's offline emulation (HTTP, socket.io's transport) and a
   * block of every peer (WebRTC data channels do not go through the emulated network stack).
   */
  async setOffline(label: string, offline: boolean): Promise<void> {
    const v = this.get(label);
    if (!v.alive) return;
    await v.context.setOffline(offline);
    const peers = offline ? this.volunteers.flatMap((o) => (o === v ? [] : o.nodeIds)) : [];
    await this.blockPeers(label, peers).catch(() => undefined);
  }

  /** CPU throttling through the DevTools protocol (1 = none, 10 = ten times slower). */
  async throttle(label: string, rate: number): Promise<void> {
    const v = this.get(label);
    if (!v.alive) return;
    const cdp = await this.#session(v);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate });
    this.#throttles.get(label)?.set(rate);
  }

  /** No peer traffic between this volunteer and these node ids ([] heals). */
  async blockPeers(label: string, nodeIds: string[]): Promise<void> {
    const v = this.get(label);
    if (!v.alive) return;
    const ok = await v.page.evaluate((ids) => {
      const api = window.tabswarmTest;
      if (ids.length === 0) return api.unblockPeers?.() ?? null;
      return api.blockPeers?.(ids) ?? null;
    }, nodeIds);
    if (ok === null) throw new Error('the volunteer page has no tabswarmTest.blockPeers');
    if (!ok) throw new Error(`${label} has not joined a peer mesh yet`);
  }

  /** The page's own account of itself; records a new node id. Null once it is closed. */
  async observe(label: string): Promise<BrowserObservation | null> {
    const v = this.get(label);
    if (!v.alive) return null;
    const seen = await v.page
      .evaluate(() => {
        const api = window.tabswarmTest;
        const s = api.getState();
        const t = api.trainer();
        return {
          nodeId: s.nodeId,
          connection: s.connection,
          phase: t?.phase ?? 'off',
          backend: t?.backend ?? s.backend,
          shardsDone: t?.shardsDone ?? 0,
          samplesPerSec: t?.samplesPerSec ?? null,
          lastLoss: t?.lastLoss ?? null,
        };
      })
      .catch(() => null);
    if (seen?.nodeId && !v.nodeIds.includes(seen.nodeId)) v.nodeIds.push(seen.nodeId);
    return seen;
  }

  /** Closes every browser, whatever state it is in. */
  async stop(): Promise<void> {
    for (const t of this.#throttles.values()) t.release();
    for (const v of this.#volunteers.values()) v.alive = false;
    await Promise.allSettled([...this.#volunteers.values()].map((v) => v.context.close()));
    // A shared browser still launching is in the list once it has launched: wait for that.
    await this.#shared?.catch(() => undefined);
    this.#shared = null;
    await Promise.allSettled(this.#browsers.map((b) => b.close()));
    await Promise.allSettled([...this.#servers.values()].map((s) => s.close()));
  }

  /** The Chromium build the volunteers run, or null before the first. */
  version(): string | null {
    return this.#browsers[0]?.version() ?? null;
  }

  async #newContext(label: string): Promise<BrowserContext> {
    const launch = async (): Promise<Browser> => {
      const browser = await chromium.launch(launchOptions());
      this.#browsers.push(browser);
      return browser;
    };
    if (this.#options.mode === 'processes') {
      // A server, for its process id: the throttle stops and continues that Chromium's whole tree.
      const server = await chromium.launchServer(launchOptions());
      this.#servers.set(label, server);
      const pid = server.process().pid;
      if (pid !== undefined) this.#throttles.set(label, new ProcessThrottle(pid));
      const browser = await chromium.connect(server.wsEndpoint());
      this.#browsers.push(browser);
      return browser.newContext();
    }
    this.#shared ??= launch();
    return (await this.#shared).newContext();
  }

  async #session(v: BrowserVolunteer): Promise<CDPSession> {
    let cdp = this.#cdp.get(v.label);
    if (cdp === undefined) {
      cdp = await v.context.newCDPSession(v.page);
      this.#cdp.set(v.label, cdp);
    }
    return cdp;
  }
}
