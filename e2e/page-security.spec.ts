/**
 * The pages' hardening, checked in a browser: the volunteer page and the dashboard are served with
 * a Content-Security-Policy that allows no inline script and no eval, and with COOP/COEP, so both
 * are cross-origin isolated; the policy is enforced (an injected inline script does not run), and
 * nothing the pages do breaks under it — the dashboard connects, and a volunteer trains shards on
 * WebAssembly (whose threaded build needs the isolation and starts Blob workers) with no violation.
 */
import { expect, test, type Page, type Response } from '@playwright/test';
import { mnistMlpJob, startVolunteer, trainerState, useSwarm } from './swarm-fixture.ts';

const swarm = useSwarm({ heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 10_000 });

declare global {
  interface Window {
    cspViolations?: string[];
  }
}

/** Collects the page's CSP violation reports (the init script is injected by the browser, not the page). */
async function watchViolations(page: Page): Promise<string[]> {
  const console: string[] = [];
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) console.push(m.text());
  });
  await page.addInitScript(() => {
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.cspViolations?.push(
        `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}:${e.columnNumber}`,
      );
    });
  });
  return console;
}

function expectHardened(response: Response | null, page: 'volunteer' | 'dashboard'): void {
  expect(response?.status()).toBe(200);
  const headers = response?.headers() ?? {};
  const csp = headers['content-security-policy'] ?? '';
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("object-src 'none'");
  expect(csp).not.toContain("'unsafe-eval'");
  expect(csp).not.toContain("'unsafe-inline'");
  expect(csp).toContain(page === 'volunteer' ? "script-src 'self' 'wasm-unsafe-eval'" : "script-src 'self'");
  expect(headers['cross-origin-opener-policy']).toBe('same-origin');
  expect(headers['cross-origin-embedder-policy']).toBe('require-corp');
}

/**
 * The policy is enforced, not only sent: an injected inline script does not run and is reported.
 * (Eval cannot be checked from here: the test's own evaluate() runs outside the page's CSP.)
 */
async function expectEnforced(page: Page): Promise<void> {
  const inlineRan = await page.evaluate(() => {
    const script = document.createElement('script');
    script.textContent = 'window.inlineRan = true';
    document.head.append(script);
    return (window as { inlineRan?: boolean }).inlineRan === true;
  });
  expect(inlineRan).toBe(false);
  await expect
    .poll(() => page.evaluate(() => window.cspViolations ?? []))
    .toEqual([expect.stringMatching(/^script-src(-elem)? blocked inline/)]);
}

test('the dashboard is cross-origin isolated under a strict CSP and works', async ({ page }) => {
  const consoleViolations = await watchViolations(page);
  const response = await page.goto(`${swarm.coordinator.url}/#/jobs`);
  expectHardened(response, 'dashboard');
  await expect(page.getByTestId('dashboard-connection')).toHaveText('connected');
  expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(true);
  expect(await page.evaluate(() => window.cspViolations)).toEqual([]);
  expect(consoleViolations).toEqual([]);
  await expectEnforced(page);
});

test('a volunteer trains on WebAssembly under the strict CSP, cross-origin isolated, with no violation', async ({
  page,
}) => {
  test.setTimeout(180_000);
  await swarm.createJob(
    mnistMlpJob('e2e csp', {
      epochs: 1,
      targetAccuracy: null,
      checkpoint: { everyShards: 1000, contributors: 1 },
    }),
  );
  const consoleViolations = await watchViolations(page);
  page.on('pageerror', (error) => console.log(`[volunteer page error] ${error.message}`));
  const response = await page.goto(`${swarm.coordinator.url}/volunteer/?backend=wasm`);
  expectHardened(response, 'volunteer');
  expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(true);

  await startVolunteer(page);
  await expect(page.getByTestId('trainer-backend')).toHaveText('wasm', { timeout: 60_000 });
  await expect
    .poll(async () => (await trainerState(page))?.shardsDone ?? 0, { timeout: 120_000 })
    .toBeGreaterThanOrEqual(1);
  expect(await page.evaluate(() => window.cspViolations)).toEqual([]);
  expect(consoleViolations).toEqual([]);
  await expectEnforced(page);
});
