/** The HTTP app: health, metrics, the node list, the API routers, the two built pages, JSON errors. */
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import { requireOperator } from './auth.ts';
import type { ServerConfig } from './config.ts';
import { clientErrorOf, sendError } from './http-errors.ts';
import type { Logger } from './logger.ts';
import type { Membership } from './membership.ts';
import type { ServerMetrics } from './metrics.ts';
import { setPageSecurityHeaders, type PageName } from './page-security.ts';

export function createHttpApp(
  config: ServerConfig,
  membership: Membership,
  metrics: ServerMetrics,
  api: readonly (readonly [string, express.Router])[],
  operatorToken: string,
  log: Logger,
  /** Runs before the API routers: the per-address limit on writes (rate-guards.ts). */
  limitWrites: express.RequestHandler = (_req, _res, next) => next(),
): express.Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, volunteersActive: membership.activeCount() });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  // Lets a client check a token before it needs it: 204 when valid, 401/403 otherwise.
  app.get('/api/auth', requireOperator(operatorToken), (_req, res) => {
    res.status(204).end();
  });

  app.get('/api/nodes', (_req, res) => {
    res.json({ nodes: membership.list(), serverTime: Date.now() });
  });

  app.use('/api', limitWrites);
  for (const [mount, router] of api) app.use(mount, router);
  app.use('/api', (_req, res) => sendError(res, 'NOT_FOUND', 'no such API endpoint'));

  servePage(app, '/volunteer', config.volunteerDir, 'volunteer');
  servePage(app, '/', config.dashboardDir, 'dashboard');
  app.use(jsonErrors(log));
  return app;
}

/** Router and body-parser errors as JSON with the right status, never an HTML stack; only server faults are logged. */
function jsonErrors(log: Logger): express.ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const client = clientErrorOf(err, req.get('content-encoding'));
    if (client) {
      sendError(res, client.code, client.message);
      return;
    }
    log.error({ err }, 'request failed');
    sendError(res, 'INTERNAL', 'internal error');
  };
}

function servePage(app: express.Express, mount: string, dir: string, name: PageName): void {
  if (fs.existsSync(path.join(dir, 'index.html'))) {
    // Vite's hashed assets never change; index.html must always be revalidated.
    app.use(
      mount,
      express.static(dir, {
        setHeaders(res, file) {
          setPageSecurityHeaders(res, name);
          res.setHeader(
            'Cache-Control',
            file.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
          );
        },
      }),
    );
    return;
  }
  app.get(mount === '/' ? '/' : [mount, `${mount}/`], (_req, res) => {
    res
      .status(503)
      .type('text/plain')
      .send(
        `The ${name} page is not built. Run "npm start" (or "npm run build") from the repository root.\n`,
      );
  });
}
