/**
 * Fixtures for the dashboard's language-model tests (Node and browser alike): a character-level
 * job's text facts, and a gpt-nano saved as the coordinator's export route serves it.
 */
import * as tf from '@tensorflow/tfjs';
import { buildModel, initialParameters, setFlatWeights, topologyFor } from '@tabswarm/core';
import type { ModelSpec, TextInfo } from '@tabswarm/protocol';

/** gpt-nano's window: 16 characters in, the next 16 out. */
const CONTEXT = 16;

/** A character-level job's text facts on `vocabulary`, with gpt-nano's window. */
export function charTextInfo(
  vocabulary: TextInfo['vocabulary'],
  figures: Pick<TextInfo, 'heldOutUnigramBits' | 'trainChars' | 'heldOutChars'>,
): TextInfo {
  return { tokenization: 'char', context: CONTEXT, vocabulary, ...figures };
}

/** A gpt-nano for `vocabulary`, initialised from `seed`: its model.json and weights.bin. */
export async function exportedGptNano(
  vocabulary: TextInfo['vocabulary'],
  seed: number,
): Promise<{ json: string; weights: ArrayBuffer }> {
  const spec: ModelSpec = { kind: 'preset', preset: 'gpt-nano' };
  const shape = { featureShape: [CONTEXT], labelShape: [CONTEXT], numClasses: vocabulary.length };
  const model = await buildModel(topologyFor(spec, shape));
  setFlatWeights(model, await initialParameters(spec, shape, seed));
  let out: { json: string; weights: ArrayBuffer } | undefined;
  await model.save(
    tf.io.withSaveHandler((a) => {
      out = {
        json: JSON.stringify({
          modelTopology: a.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
        }),
        weights: a.weightData as ArrayBuffer,
      };
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } });
    }),
  );
  model.dispose();
  if (out === undefined) throw new Error('nothing saved');
  return out;
}
