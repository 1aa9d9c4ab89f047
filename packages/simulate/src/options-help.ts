/** The text `npm run simulate -- --help` prints: every option, what it takes, and examples. */
import { DEFAULT_FAULT_MIX_TEXT } from './default-faults.ts';
import { JOB_PRESETS } from './job.ts';

export const HELP_TEXT = `Usage: npm run simulate -- [options]

Starts a coordinator (or uses --url), submits a job, starts a swarm of headless Chromium
volunteers and/or Node virtual volunteers, injects faults on a schedule and writes a report
(record.json, report.html) to --out. P is a job progress: 50% or 0.5 (shards done / planned).

Coordinator and job (one of --preset, --spec, --job; by default --preset mnist-mlp, or
mnist-mlp-many for more than 16 volunteers)
  --url URL                use a running coordinator instead of starting one here
  --token TOKEN            its operator token (only with --url)
  --preset NAME            a built-in job: ${Object.keys(JOB_PRESETS).join(', ')}
                           (mnist-mlp: 3 epochs of 5 shards of 1,600 samples, gossip;
                           -fedavg: the same with FedAvg; -many: 8 epochs of 125 shards of 64)
  --spec FILE              a job spec JSON file
  --job ID                 a job already running on --url

Volunteers (at least one)
  --browsers N             headless Chromium volunteers, one process each (0–64, default 0)
  --contexts               browsers as contexts of one Chromium (less memory)
  --backend NAME           pin the browsers' backend: webgpu, webgl, wasm or cpu
  --virtual N              Node virtual volunteers (0–5000, default 0)
  --virtual-backend NAME   their TensorFlow.js backend: wasm (default) or cpu

Faults (the fault flags may be repeated)
  --faults default         the default mix, sized to the N volunteers started:
${DEFAULT_FAULT_MIX_TEXT.map((line) => `                             - ${line}`).join('\n')}
                           fault flags given with it are added to it
  --kill N@P               close N volunteers without a goodbye at P
  --join N@P               start N more volunteers at P
  --churn RATE             volunteers leaving (and as many joining) per minute (default 0)
  --stragglers F           slow down a fraction F of the volunteers (0.25, 25% or 1/4)
  --slowdown X             by X times (default 4; 10 or 10x)
  --offline N@P[:SECONDS]  take N volunteers off the network at P for SECONDS (default 10)
  --partition A/B@P[:SECONDS]
                           no peer traffic (relay included) between a group of A and a group of
                           B volunteers from P for SECONDS (default 15), then heal
  --restart-coordinator@P  SIGKILL the coordinator at P and start it on the same data directory
                           (also --restart-coordinator=P or --restart-coordinator P; not with --url)
  --seed S                 seed of the fault schedule and of who is hit (0–4294967295; random
                           by default, the report records it)

Run and report
  --out DIR                report folder, new or empty (default simulations/<start time>/)
  --timeout SECONDS        give up after this long and still write the report (default 900)
  --quiet                  no progress line (the summary table is still printed)
  -h, --help               this text

Exit codes: 0 completed, 1 failed or timed out, 2 bad options, 130 interrupted (Ctrl-C).

Examples
  npm run simulate -- --browsers 2 --virtual 2 --kill 1@50%
  npm run simulate -- --browsers 6 --faults default --seed 7
  npm run simulate -- --virtual 1000 --quiet --out simulations/virtual-1000
  npm run simulate -- --browsers 4 --stragglers 1/4 --slowdown 10 --restart-coordinator@50%
  npm run simulate -- --virtual 4 --partition 2/2@40%:20
  npm run simulate -- --url http://localhost:8080 --token "$TOKEN" --job 3f2a --browsers 2
`;
