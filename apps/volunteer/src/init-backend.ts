/**
 * Starts TensorFlow.js on the best backend this browser has: WebGPU, then WebGL, then CPU, and
 * says why it fell back. tfjs is loaded here, on Start, so the page itself stays light.
 */
import type { Backend } from '@tabswarm/protocol';
import { errorText } from './detect-device.ts';

export interface BackendChoice {
  readonly backend: Backend;
  /** Why WebGPU is not in use; null when it is. */
  readonly fallbackReason: string | null;
}

export async function initBackend(webgpuUnavailableReason: string | null): Promise<BackendChoice> {
  const tf = await import('@tensorflow/tfjs');
  const reasons: string[] = [];
  const tryBackend = async (name: Backend): Promise<boolean> => {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return true;
      }
      reasons.push(`${name}: tfjs could not initialise it`);
    } catch (error) {
      reasons.push(`${name}: ${errorText(error)}`);
    }
    return false;
  };

  if (webgpuUnavailableReason === null) {
    await import('@tensorflow/tfjs-backend-webgpu');
    if (await tryBackend('webgpu')) return { backend: 'webgpu', fallbackReason: null };
  } else {
    reasons.push(`webgpu: ${webgpuUnavailableReason}`);
  }
  for (const name of ['webgl', 'cpu'] as const) {
    if (await tryBackend(name)) return { backend: name, fallbackReason: reasons.join('; ').slice(0, 512) };
  }
  throw new Error(`no TensorFlow.js backend could start (${reasons.join('; ')})`);
}
