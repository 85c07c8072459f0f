// Worker entry when gridflex runs from its TypeScript sources: Node 20 does not carry the tsx loader
// into worker threads, so register it here before loading the worker module.
import { register } from 'tsx/esm/api';

register();
await import('./solver-worker.ts');
