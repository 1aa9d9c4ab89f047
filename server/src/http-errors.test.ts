import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Request } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { clientGone } from './http-errors.ts';

let server: http.Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A server that reads each request's body in full, then reports what the request looked like. */
async function readWholeBody(): Promise<{ destroyed: boolean; gone: boolean }> {
  const seen = new Promise<{ destroyed: boolean; gone: boolean }>((resolve) => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () =>
        setImmediate(() => {
          resolve({ destroyed: req.destroyed, gone: clientGone(req as Request) });
          res.end('ok');
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server?.address() as AddressInfo;
  const reply = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x'.repeat(10_000) });
  expect(await reply.text()).toBe('ok');
  return seen;
}

describe('clientGone', () => {
  it('is false once a body was read in full (req.destroyed is true then), so errors are still answered', async () => {
    expect(await readWholeBody()).toEqual({ destroyed: true, gone: false });
  });
});
