// Idle keep-alive connections: the coordinator keeps them 65 s (not Node's 5 s), so that a client
// reusing one — Node's fetch keeps one until 1 s before the advertised timeout — does not meet a
// connection the coordinator closed meanwhile (a reset request, seen in the swarm tests).
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { serversClosedAfterEach } from './test-support.ts';

describe('keep-alive', () => {
  const start = serversClosedAfterEach();

  it('advertises and keeps idle connections for 65 s', async () => {
    const running = await start();
    const header = await new Promise<string | undefined>((resolve, reject) => {
      const agent = new http.Agent({ keepAlive: true });
      http
        .get(`${running.url}/healthz`, { agent }, (res) => {
          res.resume();
          res.on('end', () => {
            agent.destroy();
            resolve(res.headers['keep-alive'] as string | undefined);
          });
        })
        .on('error', reject);
    });
    expect(header).toBe('timeout=65');
  });
});
