/**
 * The walking skeleton, end to end: a real coordinator, three separate Chromium instances as
 * volunteers on WebGPU, the dashboard watching them, one volunteer vanishing, and a 4 MB
 * parameter frame crossing a real WebRTC data channel.
 */
import { expect, test } from '@playwright/test';
import { startVolunteer, useSwarm } from './swarm-fixture.ts';

const swarm = useSwarm({ heartbeatIntervalMs: 500, heartbeatTimeoutMs: 4_000 });

async function openVolunteer() {
  const { browser, page } = await swarm.openVolunteerPage();
  await expect(page.getByTestId('connection-state')).toHaveText('disconnected');
  const nodeId = await startVolunteer(page);
  await expect(page.getByTestId('backend')).toContainText('webgpu');
  return { browser, page, nodeId };
}

test('three WebGPU volunteers join, one leaves, two exchange a 4 MB frame over WebRTC', async ({
  page: dashboard,
}) => {
  await dashboard.goto(`${swarm.coordinator.url}/`);
  const rows = dashboard.getByTestId('node-row');
  await expect(rows).toHaveCount(0);

  const volunteers = [];
  for (let i = 0; i < 3; i++) volunteers.push(await openVolunteer());
  const [a, b, c] = volunteers as [
    (typeof volunteers)[number],
    (typeof volunteers)[number],
    (typeof volunteers)[number],
  ];

  // The dashboard lists three live WebGPU nodes, each of which ran the WGSL kernel self-test.
  const live = dashboard.locator('[data-testid="node-row"][data-status="active"][data-backend="webgpu"]');
  await expect(live).toHaveCount(3);
  for (const v of volunteers) {
    await expect(v.page.getByTestId('self-test')).toHaveText('passed', { timeout: 90_000 });
    await expect(dashboard.locator(`[data-node-id="${v.nodeId}"]`)).toContainText('passed');
  }

  // WebRTC through the coordinator's PeerJS signalling: a 4 MB fp32 frame, checksum verified by the receiver.
  await expect.poll(() => a.page.evaluate(() => window.tabswarmTest.getState().peers.length)).toBe(3);
  const elements = 1024 * 1024;
  const sent = await a.page.evaluate(([peer, n]) => window.tabswarmTest.sendFrame(peer, n), [
    b.nodeId,
    elements,
  ] as const);
  expect(sent.ok, sent.error).toBe(true);
  expect(sent.bytes).toBeGreaterThan(4 * elements);
  const received = await b.page.evaluate(() => window.tabswarmTest.receivedFrames());
  expect(received).toContainEqual(
    expect.objectContaining({ from: a.nodeId, elementCount: elements, checksum: sent.checksum, ok: true }),
  );

  // Closing a browser outright (no goodbye) gets it marked gone within the heartbeat timeout.
  await c.browser.close();
  const goneRow = dashboard.locator(`[data-testid="node-row"][data-node-id="${c.nodeId}"]`);
  await expect(goneRow).toHaveAttribute('data-status', 'gone', {
    timeout: swarm.coordinator.heartbeatTimeoutMs + 5_000,
  });
  await expect(live).toHaveCount(2);
  await expect.poll(() => a.page.evaluate(() => window.tabswarmTest.getState().peers.length)).toBe(2);
});
