import { parseDateTimeMs } from './date-time.ts';
import { OscpMappingError } from './errors.ts';
import type { CapacityForecastType, ForecastedBlock, PhaseIndicator, UpdateGroupCapacityForecast } from './schemas.ts';

/**
 * OSCP 2.0 UpdateGroupCapacityForecast → capacity blocks in kW, the unit of the canonical model
 * (optimizer/model.ts: kW, limits are magnitudes >= 0, times UTC epoch ms). Pure.
 *
 * Units (OSCP 2.0 ForecastedBlockUnit):
 * - KW as is; W / 1000.
 * - A (current) → kW with the node's phase-to-neutral voltage (default 230 V) and phase count
 *   (default 3):
 *   - phase ALL: the value is a per-phase limit on every phase of the node → kW = A·V·phases/1000.
 *   - phase ONE/TWO/THREE: a limit on that one conductor. gridflex spreads load evenly over the phases
 *     of a 3-phase node, so a balanced load stays within it at 3·A·V: kW = A·V·3/1000 (A·V/1000 on a
 *     single-phase node). This is only safe for balanced load: single-phase EVs that all sit on the
 *     limited conductor are not modelled (see docs/oscp.md).
 *   - phase UNKNOWN: read as ALL (a per-phase fuse limit is what an ampere value almost always means).
 *   Where blocks of different phase indicators overlap in time, the smallest resulting kW applies.
 * - WH and KWH are energy units: a capacity forecast limits power, so they are rejected.
 * For W and KW the phase indicator does not change the value: it is taken as the group's total,
 * which is the conservative reading of a single-phase power limit.
 *
 * Rules the JSON schema cannot express, rejected with an OscpMappingError naming the block:
 * end_time must be after start_time; blocks of the same phase indicator must not overlap.
 */

export const DEFAULT_VOLTAGE_V = 230;
export const DEFAULT_PHASES = 3;

export interface NodeElectrical {
  /** Phase-to-neutral voltage (V); null/undefined → 230 V. */
  voltageV?: number | null;
  /** 1 or 3; null/undefined → 3. */
  phases?: number | null;
}

export interface KwBlock {
  startMs: number;
  endMs: number;
  kw: number;
}

export interface MappedForecast {
  type: CapacityForecastType;
  /** Sorted by start, non-overlapping, gaps left out (no limit there from this message). */
  blocks: KwBlock[];
}

function nodeVoltage(node: NodeElectrical): number {
  const v = node.voltageV;
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : DEFAULT_VOLTAGE_V;
}

function nodePhases(node: NodeElectrical): number {
  return node.phases === 1 || node.phases === 3 ? node.phases : DEFAULT_PHASES;
}

/** One block's capacity in kW. Throws OscpMappingError for an energy unit. */
export function blockKw(b: Pick<ForecastedBlock, 'capacity' | 'unit' | 'phase'>, node: NodeElectrical): number {
  switch (b.unit) {
    case 'KW':
      return b.capacity;
    case 'W':
      return b.capacity / 1000;
    case 'A': {
      // Every indicator ends at A·V·phases: ALL/UNKNOWN by definition, ONE/TWO/THREE as the balanced
      // total (see the header). A single-phase node has one conductor either way.
      return (b.capacity * nodeVoltage(node) * nodePhases(node)) / 1000;
    }
    case 'WH':
    case 'KWH':
      throw new OscpMappingError(`unit ${b.unit} is an energy unit; a capacity forecast needs A, W or KW`);
  }
}

interface Parsed extends KwBlock {
  index: number;
  phase: PhaseIndicator;
}

export function forecastToBlocksKw(msg: UpdateGroupCapacityForecast, node: NodeElectrical): MappedForecast {
  const parsed: Parsed[] = msg.forecasted_blocks.map((b, index) => {
    const startMs = parseDateTimeMs(b.start_time);
    const endMs = parseDateTimeMs(b.end_time);
    if (startMs === null || endMs === null) throw new OscpMappingError(`forecasted_blocks[${index}]: start_time and end_time must be RFC 3339 date-times`);
    if (endMs <= startMs) throw new OscpMappingError(`forecasted_blocks[${index}]: end_time must be after start_time`);
    let kw: number;
    try {
      kw = blockKw(b, node);
    } catch (e) {
      throw e instanceof OscpMappingError ? new OscpMappingError(`forecasted_blocks[${index}]: ${e.message}`) : e;
    }
    // JSON numbers can be finite yet overflow once multiplied by volts; an infinite limit means nothing.
    if (!Number.isFinite(kw)) throw new OscpMappingError(`forecasted_blocks[${index}]: capacity too large`);
    return { index, phase: b.phase, startMs, endMs, kw };
  });
  const groups = byPhase(parsed);
  checkNoOverlap(groups);
  return { type: msg.type, blocks: lowestEnvelope(groups) };
}

/** Blocks grouped by phase indicator, each group sorted by start. */
function byPhase(blocks: Parsed[]): Parsed[][] {
  const groups = new Map<PhaseIndicator, Parsed[]>();
  for (const b of blocks) {
    const list = groups.get(b.phase) ?? [];
    list.push(b);
    groups.set(b.phase, list);
  }
  return [...groups.values()].map((list) => list.sort((a, b) => a.startMs - b.startMs || a.index - b.index));
}

/** Two blocks of one phase indicator covering the same instant would give two values for one limit. */
function checkNoOverlap(groups: Parsed[][]): void {
  for (const sorted of groups) {
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]!;
      const cur = sorted[i]!;
      if (cur.startMs < prev.endMs) {
        const [a, b] = [prev.index, cur.index].sort((x, y) => x - y);
        throw new OscpMappingError(`forecasted_blocks[${a}] and forecasted_blocks[${b}] overlap (phase ${cur.phase})`);
      }
    }
  }
}

/**
 * Cuts the time line at every block edge and keeps, per piece, the lowest kW of the blocks covering
 * it. The result is non-overlapping, which the store needs (one value per node, type and start).
 * With one phase indicator (the usual message) the result is the blocks themselves. With several,
 * adjacent pieces of equal value are joined again, since only another phase's edge cut them.
 * Linear in the number of blocks per phase group (a 1 MB message holds thousands of blocks).
 */
function lowestEnvelope(groups: Parsed[][]): KwBlock[] {
  if (groups.length === 1) return groups[0]!.map((b) => ({ startMs: b.startMs, endMs: b.endMs, kw: b.kw }));
  const edges = [...new Set(groups.flat().flatMap((b) => [b.startMs, b.endMs]))].sort((a, b) => a - b);
  const cursor = groups.map(() => 0);
  const out: KwBlock[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const s = edges[i]!;
    const e = edges[i + 1]!;
    let kw: number | null = null;
    groups.forEach((g, gi) => {
      // Pieces come in time order, so each group's cursor only moves forward.
      while (cursor[gi]! < g.length && g[cursor[gi]!]!.endMs <= s) cursor[gi]!++;
      const b = g[cursor[gi]!];
      if (b && b.startMs <= s && b.endMs >= e) kw = kw === null ? b.kw : Math.min(kw, b.kw);
    });
    if (kw === null) continue;
    const last = out[out.length - 1];
    if (last && last.endMs === s && last.kw === kw) last.endMs = e;
    else out.push({ startMs: s, endMs: e, kw });
  }
  return out;
}
