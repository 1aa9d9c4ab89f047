// `npm start`: install what is missing, build the pages, run the coordinator. Extra arguments
// after `npm start --` go to the coordinator (see `npm start -- --help`).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT, ensureBuilt, ensureDependencies } from './setup.mjs';

ensureDependencies();
ensureBuilt();

const child = spawn(
  process.execPath,
  ['--import', 'tsx', path.join(ROOT, 'server/src/main.ts'), ...process.argv.slice(2)],
  {
    cwd: ROOT,
    stdio: 'inherit',
  },
);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
