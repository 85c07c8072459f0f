import { parentPort } from 'node:worker_threads';
import { allocate } from '../../optimizer/index.ts';
import type { AllocationInput } from '../../optimizer/model.ts';

// glpk.js solves synchronously: run it here, so the main thread keeps serving sockets meanwhile.
parentPort?.on('message', (msg: { id: number; input: AllocationInput }) => {
  allocate(msg.input).then(
    (allocation) => parentPort?.postMessage({ id: msg.id, allocation }),
    (err: unknown) => parentPort?.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
