import type { AllocationInput, CapacityEnvelope, ChargingDemand, Horizon, TopologyNode } from '../../../optimizer/index.ts';

export const START_MS = Date.UTC(2025, 0, 6, 0, 0, 0);
export const STEP_MS = 15 * 60_000;

export function horizon(count: number): Horizon {
  return { startMs: START_MS, intervalMinutes: 15, count };
}

/** Epoch ms of interval `i` of the test horizon, plus `minutes`. */
export function at(i: number, minutes = 0): number {
  return START_MS + i * STEP_MS + minutes * 60_000;
}

export function area(id: string, importLimitKw?: number): TopologyNode {
  return { id, kind: 'grid_area', parentId: null, ...(importLimitKw === undefined ? {} : { importLimitKw }) };
}

export function node(id: string, kind: TopologyNode['kind'], parentId: string, importLimitKw?: number): TopologyNode {
  return { id, kind, parentId, ...(importLimitKw === undefined ? {} : { importLimitKw }) };
}

export function evse(id: string, parentId: string, maxPowerKw: number, minPowerKw?: number): TopologyNode {
  return { id, kind: 'evse', parentId, maxPowerKw, ...(minPowerKw === undefined ? {} : { minPowerKw }) };
}

/** A session present from the start of interval `from` to the start of interval `to`. */
export function demand(sessionId: string, evseId: string, from: number, to: number, energyKwh: number, extra: Partial<ChargingDemand> = {}): ChargingDemand {
  return { sessionId, evseId, arrivalMs: at(from), departureMs: at(to), energyKwh, ...extra };
}

export function envelope(nodeId: string, importKw: (number | null)[]): CapacityEnvelope {
  return { nodeId, importKw, exportKw: importKw.map(() => null) };
}

export function input(count: number, nodes: TopologyNode[], demands: ChargingDemand[] = [], envelopes: CapacityEnvelope[] = []): AllocationInput {
  return { horizon: horizon(count), nodes, envelopes, demands };
}

export function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
