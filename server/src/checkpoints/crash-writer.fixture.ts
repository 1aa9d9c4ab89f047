/**
 * Test fixture, run as a child process by checkpoint-files.test.ts: writes checkpoints of one job
 * in a loop, as fast as it can, until it is killed. Usage: crash-writer.fixture.ts <dataDir> <firstSeq>.
 */
import { encodeFp32Frame } from '@tabswarm/protocol';
import { writeCheckpointFile } from './checkpoint-files.ts';

const [dataDir, first = '0'] = process.argv.slice(2);
if (dataDir === undefined) throw new Error('usage: crash-writer.fixture.ts <dataDir> <firstSeq>');
// 4 MiB frames, so a kill often lands inside a write.
const values = new Float32Array(1 << 20);
for (let seq = Number(first); ; seq++) {
  values.fill(seq);
  await writeCheckpointFile(
    dataDir,
    'crash',
    seq,
    encodeFp32Frame({ jobId: 'crash', senderId: 'w', round: seq, values }),
  );
  process.stdout.write(`${seq}\n`);
}
