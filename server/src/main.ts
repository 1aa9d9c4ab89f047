/** Reads configuration, starts the coordinator, prints where to point browsers, stops cleanly. */
import { ConfigError, CONFIG_HELP, resolveConfig } from './config.ts';
import { createServer } from './create-server.ts';
import { PostgresError, redactUrl } from './store/postgres-database.ts';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(`Usage: npm start -- [options]\n\n${CONFIG_HELP}`);
    return;
  }
  const config = resolveConfig(argv, process.env);
  const server = createServer(config);
  const url = await server.listen();
  const store = config.storeUrl === undefined ? '' : `, store ${redactUrl(config.storeUrl)}`;
  console.log(`\ntabswarm coordinator is running (data in ${config.dataDir}${store})`);
  console.log(`  dashboard:       ${url}/`);
  console.log(`  volunteer page:  ${url}/volunteer/\n`);
  if (server.operatorTokenCreated) {
    console.log(`  operator token (shown once; also in ${config.dataDir}/operator-token):`);
    console.log(`    ${server.operatorToken}\n`);
  }

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    server.log.info({ signal }, 'shutting down');
    server
      .close()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        server.log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof PostgresError) {
    console.error(`tabswarm: ${err.message}`);
    process.exit(2);
  }
  if (err instanceof Error && 'code' in err && err.code === 'EADDRINUSE') {
    console.error(
      `tabswarm: the port is already in use (${err.message}). Set PORT or --port to another one.`,
    );
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
});
