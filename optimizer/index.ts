export * from './model.ts';
export { allocate, fallbackAllocation, DEFAULT_TIME_LIMIT_SEC } from './lp/allocate.ts';
export { verifyAllocation, type Verification } from './verify.ts';
export { monolithicOptimum, type MonolithicResult } from './lp/monolithic.ts';
export { LP_MAX_COLUMNS } from './lp/allocate.ts';
export { Reoptimizer, splitByArea, type AreaPart, type ReoptimizeStats } from './reoptimize.ts';
