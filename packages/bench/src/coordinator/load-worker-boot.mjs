// A load worker's first module: TypeScript through tsx (registered here), then the worker.
import { register } from 'tsx/esm/api';

register();
await import('./load-worker.ts');
