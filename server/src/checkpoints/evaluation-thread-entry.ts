/**
 * The evaluation thread: evaluates checkpoints with its own TensorFlow.js (CPU backend), one
 * request at a time, and answers each with the figures or the error's message.
 */
import { parentPort } from 'node:worker_threads';
import { evaluateParameters } from './evaluate.ts';
import type { EvaluationReply, EvaluationRequest } from './evaluation-thread.ts';

const port = parentPort;
if (port === null) throw new Error('evaluation-thread-entry runs in a worker thread');

port.on('message', (request: EvaluationRequest) => {
  evaluateParameters(request.topology, request.values, request.testSet, request.options).then(
    (evaluation) => port.postMessage({ id: request.id, ok: true, evaluation } satisfies EvaluationReply),
    (error: unknown) =>
      port.postMessage({
        id: request.id,
        ok: false,
        message: error instanceof Error ? error.message : String(error),
        range: error instanceof RangeError,
      } satisfies EvaluationReply),
  );
});
