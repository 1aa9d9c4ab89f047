/**
 * A checkpoint as a TensorFlow.js layers model: model.json (topology plus a weights manifest) and
 * weights.bin (the flat fp32 vector, little-endian, in layout order), which
 * `tf.loadLayersModel('http://…/model.json')` loads when both are served side by side.
 */
import type { ParamLayout } from '@tabswarm/protocol';
import type { Topology } from '@tabswarm/core';

export const WEIGHTS_FILE = 'weights.bin';
export const GENERATED_BY = 'tabswarm';

export interface WeightSpec {
  readonly name: string;
  readonly shape: number[];
  readonly dtype: 'float32';
}

export interface LayersModelJson {
  readonly format: 'layers-model';
  readonly generatedBy: string;
  readonly convertedBy: null;
  readonly modelTopology: Topology;
  readonly weightsManifest: [{ readonly paths: [string]; readonly weights: WeightSpec[] }];
}

export interface ExportedModel {
  readonly modelJson: LayersModelJson;
  readonly weightsBin: Uint8Array;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Throws a RangeError when the vector's length is not the layout's. */
export function exportModel(topology: Topology, layout: ParamLayout, flat: Float32Array): ExportedModel {
  if (flat.length !== layout.total) {
    throw new RangeError(`the layout has ${layout.total} parameters, the vector ${flat.length}`);
  }
  const weightsBin = new Uint8Array(flat.length * 4);
  if (LITTLE_ENDIAN_HOST) {
    weightsBin.set(new Uint8Array(flat.buffer, flat.byteOffset, flat.byteLength));
  } else {
    const view = new DataView(weightsBin.buffer);
    flat.forEach((v, i) => view.setFloat32(i * 4, v, true));
  }
  return {
    modelJson: {
      format: 'layers-model',
      generatedBy: GENERATED_BY,
      convertedBy: null,
      modelTopology: topology,
      weightsManifest: [
        {
          paths: [WEIGHTS_FILE],
          weights: layout.entries.map((e) => ({ name: e.name, shape: [...e.shape], dtype: 'float32' })),
        },
      ],
    },
    weightsBin,
  };
}
