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

/** The PostgreSQL binaries' directory, as server/src/store/postgres-server.ts finds it. */
function postgresBin() {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir !== '' && fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl')))
      return dir;
  }
  const debian = '/usr/lib/postgresql';
  if (!fs.existsSync(debian)) return null;
  const version = fs
    .readdirSync(debian)
    .filter((v) => fs.existsSync(path.join(debian, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))[0];
  return version === undefined ? null : path.join(debian, version, 'bin');
}

/**
 * PostgreSQL for the tests of the shared store (Debian's postgresql; libpq-dev, which the store's
 * libpq module compiles against). Run before ensureDependencies, so that npm ci builds libpq.
 */
export function ensurePostgres() {
  const haveServer = postgresBin() !== null;
  const haveHeaders = fs.existsSync('/usr/include/postgresql/libpq-fe.h');
  if (haveServer && haveHeaders) return;
  const missing = [...(haveServer ? [] : ['postgresql']), ...(haveHeaders ? [] : ['libpq-dev'])];
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    fail(
      `the PostgreSQL tests need ${missing.join(' and ')}. Install once with:\n` +
        `    sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}\n` +
        '  then run npm test again.',
    );
  }
  log(`installing ${missing.join(' and ')} from Debian (apt-get install)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (run('apt-get', ['update', '-qq'], { env }) !== 0) fail('apt-get update failed');
  if (run('apt-get', ['install', '-y', '-qq', ...missing], { env }) !== 0)
    fail(`apt-get install ${missing.join(' ')} failed`);
  // Debian starts a cluster of its own on install; the tests start theirs on a free port.
  if (postgresBin() === null) fail('apt-get installed postgresql but initdb is still missing');
  // libpq is an optional dependency: built now if node_modules was installed without its headers.
  if (fs.existsSync(path.join(ROOT, 'node_modules', 'libpq')) && !haveHeaders)
    if (run('npm', ['rebuild', 'libpq']) !== 0) fail('npm rebuild libpq failed; see the output above');
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
  ensurePostgres();
  ensureDependencies();
  ensureChromium();
  ensureBuilt();
  log('setup complete');
}
