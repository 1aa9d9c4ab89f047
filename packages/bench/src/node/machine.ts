/**
 * The machine a run measured: CPU, memory and Node from the OS, Chromium's version and the WebGPU
 * adapter it gives a page (requestAdapter() needs a secure context: a page on 127.0.0.1).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import type { MachineDescription } from '../part.ts';
import { launchChromium } from './bench-pages.ts';

type Adapter = NonNullable<MachineDescription['webgpu']>;

async function probeChromium(): Promise<{ chromium: string; webgpu: Adapter | null }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>probe</title>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const webgpu = await page.evaluate(async (): Promise<Adapter | null> => {
      const adapter = 'gpu' in navigator ? await navigator.gpu.requestAdapter() : null;
      if (adapter === null) return null;
      const info = adapter.info;
      // Chromium reports it on the info (newer) or on the adapter (older).
      const fallback = Boolean(
        (info as Partial<GPUAdapterInfo>).isFallbackAdapter ??
        (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter,
      );
      const summary = [info.vendor, info.architecture, info.device, info.description]
        .filter((s) => s !== '')
        .join(' ');
      return {
        adapter: summary === '' ? 'unknown' : summary,
        fallback,
        vendor: info.vendor,
        architecture: info.architecture,
        device: info.device,
        description: info.description,
      };
    });
    return { chromium: browser.version(), webgpu };
  } finally {
    await browser.close();
    server.close();
  }
}

export async function describeMachine(log: (line: string) => void): Promise<MachineDescription> {
  const cpus = os.cpus();
  let browser: Awaited<ReturnType<typeof probeChromium>> | null = null;
  try {
    browser = await probeChromium();
  } catch (error) {
    log(`machine: could not probe Chromium (${error instanceof Error ? error.message : String(error)})`);
  }
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    chromium: browser?.chromium ?? null,
    webgpu: browser?.webgpu ?? null,
  };
}

/** One line for the top of the output. */
export function machineLine(m: MachineDescription): string {
  const gpu =
    m.webgpu === null
      ? 'no WebGPU adapter'
      : `WebGPU ${m.webgpu.adapter}${m.webgpu.fallback ? ' (fallback adapter: WebGPU emulated on the CPU)' : ''}`;
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; Node ${m.node}; Chromium ${m.chromium ?? 'not found'}; ${gpu}`;
}
