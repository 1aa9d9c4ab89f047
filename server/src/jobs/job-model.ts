/**
 * A job's model as the coordinator keeps it: the topology the spec resolves to on its dataset
 * and the flat parameter layout every upload and checkpoint is measured against. Built once, when
 * the job is created or the coordinator restarts, and checked against the dataset so that a
 * model that cannot train on it is refused up front with a readable error.
 */
import { layoutOf, modelMismatch, topologyFor, type DatasetShape, type Topology } from '@tabswarm/core';
import { ProtocolError, type JobSpec, type ParamLayout } from '@tabswarm/protocol';
import { buildModel } from '../checkpoints/model-factory.ts';

export interface JobModel {
  readonly topology: Topology;
  readonly layout: ParamLayout;
}

/** Checks that the spec's model fits the dataset and returns its layout; throws a readable error. */
export async function describeModel(spec: JobSpec, dataset: DatasetShape): Promise<JobModel> {
  let topology: Topology;
  try {
    topology = topologyFor(spec.model, dataset);
  } catch (error) {
    throw new ProtocolError('BAD_REQUEST', `model: ${(error as Error).message}`);
  }
  let model;
  try {
    model = await buildModel(topology);
  } catch (error) {
    throw new ProtocolError(
      'BAD_REQUEST',
      `model.topology: TensorFlow.js cannot build it: ${(error as Error).message}`,
    );
  }
  try {
    const mismatch = modelMismatch(model, dataset);
    if (mismatch !== null) throw new ProtocolError('BAD_REQUEST', `model: ${mismatch}`);
    return { topology, layout: layoutOf(model) };
  } finally {
    model.dispose();
  }
}
