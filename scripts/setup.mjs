// Brings a fresh machine to the point where tabswarm can start and be tested, using only Node's
// standard library (nothing is installed yet when this runs). Each step is skipped when done.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LOCK = path.join(ROOT, 'package-lock.json');
const STAMP = path.join(ROOT, 'node_modules', '.tabswarm-installed');
export const CHROMIUM = process.env.TABSWARM_CHROMIUM ?? '/usr/bin/chromium';

export function log(message) {
  console.log(`\x1b[36m[tabswarm]\x1b[0m ${message}`);
}

export function fail(message) {
  console.error(`\x1b[31m[tabswarm]\x1b[0m ${message}`);
  process.exit(1);
}

export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', ...options });
  if (result.error) fail(`could not run ${command}: ${result.error.message}`);
  return result.status ?? 1;
}

function lockHash() {
  return createHash('sha256').update(fs.readFileSync(LOCK)).digest('hex');
}

/** npm ci when node_modules is missing or was installed from another package-lock.json. */
export function ensureDependencies() {
  const wanted = lockHash();
  const installed = fs.existsSync(STAMP) ? fs.readFileSync(STAMP, 'utf8').trim() : '';
  if (installed === wanted) return;
  log('installing dependencies (npm ci; better-sqlite3 may compile from source, a few minutes)…');
  if (run('npm', ['ci', '--no-audit', '--no-fund']) !== 0) fail('npm ci failed; see the output above');
  fs.writeFileSync(STAMP, `${wanted}\n`);
}

/** Debian's Chromium: the browser every test drives (Playwright cannot download one here). */
export function ensureChromium() {
  if (fs.existsSync(CHROMIUM)) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    fail(
      `Chromium is not installed at ${CHROMIUM}. Install it once with:\n` +
        '    sudo apt-get update && sudo apt-get install -y chromium\n' +
        '  or point TABSWARM_CHROMIUM at another Chromium/Chrome binary, then run npm test again.',
    );
  }
  log('installing Chromium from Debian (apt-get install chromium)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (run('apt-get', ['update', '-qq'], { env }) !== 0) fail('apt-get update failed');
  if (run('apt-get', ['install', '-y', '-qq', 'chromium'], { env }) !== 0)
    fail('apt-get install chromium failed');
  if (!fs.existsSync(CHROMIUM)) fail(`apt-get installed chromium but ${CHROMIUM} is still missing`);
}

function newestMtime(dir) {
  let newest = 0;
  if (!fs.existsSync(dir)) return newest;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** Builds the dashboard and volunteer pages when their output is missing or older than a source. */
export function ensureBuilt({ force = false } = {}) {
  const outputs = ['apps/dashboard/dist/index.html', 'apps/volunteer/dist/index.html'].map((p) =>
    path.join(ROOT, p),
  );
  const built = Math.min(...outputs.map((p) => (fs.existsSync(p) ? fs.statSync(p).mtimeMs : 0)));
  const sources = Math.max(...['apps', 'packages', 'shaders'].map((d) => newestMtime(path.join(ROOT, d))));
  if (!force && built > 0 && built >= sources) return;
  log('building the dashboard and volunteer pages (vite build)…');
  if (run('npm', ['run', 'build', '--silent']) !== 0) fail('the page build failed; see the output above');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureDependencies();
  ensureChromium();
  ensureBuilt();
  log('setup complete');
}
