/** The kernels' debug switch: when on, every pipeline prints its WGSL as it is created. */

let debug = false;

/** Like tfjs-backend-webgpu's WEBGPU_PRINT_SHADER, for our own pipelines. */
export function setKernelDebug(on: boolean): void {
  debug = on;
}

export function isKernelDebug(): boolean {
  return debug;
}
