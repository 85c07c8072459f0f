/**
 * Bench runner: `npm run bench` runs every bench, `npm run bench -- optimizer` only those whose name
 * contains the argument. A second argument is passed to the bench (the optimizer takes sizes, e.g. `10,100`).
 */
import { ocppBench } from './ocpp-bench.ts';
import { optimizerBench } from './optimizer-bench.ts';
import { reoptimizeBench } from './reoptimize-bench.ts';
import { sharingBench } from './sharing-bench.ts';

const benches: Record<string, (arg?: string) => Promise<string>> = {
  optimizer: (arg) => optimizerBench(arg ? arg.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0) : undefined),
  ocpp: (arg) => ocppBench(arg ? arg.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0) : undefined),
  sharing: (arg) => sharingBench(arg ? arg.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0) : undefined),
  reoptimize: (arg) => reoptimizeBench(arg ? arg.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0) : undefined),
};

const [filter, arg] = process.argv.slice(2);
const selected = Object.keys(benches).filter((name) => !filter || name.includes(filter));
if (selected.length === 0) {
  console.error(`no bench matches "${filter}"; available: ${Object.keys(benches).join(', ')}`);
  process.exitCode = 1;
}
for (const name of selected) {
  console.log(`## ${name}\n`);
  console.log(await benches[name]!(arg));
  console.log('');
}
