/** The HTTP routes: health, metrics, the node list, and the two built pages. */
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import type { ServerConfig } from './config.ts';
import type { Membership } from './membership.ts';
import type { ServerMetrics } from './metrics.ts';

export function createHttpApp(
  config: ServerConfig,
  membership: Membership,
  metrics: ServerMetrics,
): express.Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, volunteersActive: membership.activeCount() });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.get('/api/nodes', (_req, res) => {
    res.json({ nodes: membership.list(), serverTime: Date.now() });
  });

  servePage(app, '/volunteer', config.volunteerDir, 'volunteer');
  servePage(app, '/', config.dashboardDir, 'dashboard');
  return app;
}

function servePage(app: express.Express, mount: string, dir: string, name: string): void {
  if (fs.existsSync(path.join(dir, 'index.html'))) {
    // Vite's hashed assets never change; index.html must always be revalidated.
    app.use(
      mount,
      express.static(dir, {
        setHeaders(res, file) {
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
