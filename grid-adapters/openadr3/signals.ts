import type { CapacityEnvelope, Horizon } from '../../optimizer/model.ts';
import { intervalStartMs } from '../../optimizer/model.ts';
import { expandEvent, payloadSlots } from './intervals.ts';
import type { EventRequest } from './schemas.ts';

/**
 * OpenADR 3 event payloads → canonical DR signals, and limit signals → capacity envelopes. Pure.
 *
 * Units and signs (optimizer/model.ts): kW, limits are magnitudes >= 0. IMPORT_CAPACITY_LIMIT and
 * EXPORT_CAPACITY_LIMIT (Definitions, Event Payload Enumerations: "maximum import/export level for the
 * site ... meaning indicated by units in associated eventPayloadDescriptor") are read in the units of
 * the event's payloadDescriptor for that type: KW (default when none is given), W or MW; any other unit
 * is not a power and the payload is skipped (reported in `skipped`). PRICE / EXPORT_PRICE keep the
 * descriptor's units and currency; SIMPLE is a level 0..3.
 */

export type SignalKind = 'import_limit' | 'export_limit' | 'price' | 'export_price' | 'simple';

export interface DrSignal {
  kind: SignalKind;
  startMs: number;
  /** Infinity: until the event is changed or deleted. */
  endMs: number;
  value: number;
  /** e.g. 'KW'; for prices '<currency>/<units>' as far as the descriptor tells. */
  unit: string | null;
}

const KIND_OF: Record<string, SignalKind> = {
  IMPORT_CAPACITY_LIMIT: 'import_limit',
  EXPORT_CAPACITY_LIMIT: 'export_limit',
  PRICE: 'price',
  EXPORT_PRICE: 'export_price',
  SIMPLE: 'simple',
};

const KW_FACTOR: Record<string, number> = { KW: 1, W: 0.001, MW: 1000 };

export interface SignalMapping {
  signals: DrSignal[];
  /** Payloads not mapped, with why (unknown unit, negative limit, ...). */
  skipped: string[];
}

type SignalEvent = Pick<EventRequest, 'intervalPeriod' | 'intervals' | 'duration' | 'payloadDescriptors'>;

/**
 * The signals of one event. `nowMs` resolves 'do it now' intervals; `untilMs` bounds looping events.
 * Limits are widened by randomizeStart on both sides (a VEN may shift the start either way; the grid
 * must see the limit wherever it could apply); prices and levels are not shifted.
 */
export function eventSignals(e: SignalEvent, opts: { nowMs: number; untilMs?: number }): SignalMapping {
  const timing = expandEvent(e, opts);
  const descriptors = new Map((e.payloadDescriptors ?? []).map((d) => [d.payloadType, d]));
  const signals: DrSignal[] = [];
  const skipped: string[] = [];
  for (const iv of timing.intervals) {
    for (const p of iv.payloads) {
      const kind = KIND_OF[p.type];
      if (!kind) continue;
      const d = descriptors.get(p.type);
      let factor = 1;
      let unit: string | null = null;
      if (kind === 'import_limit' || kind === 'export_limit') {
        const u = (d?.units ?? 'KW').toUpperCase();
        const f = KW_FACTOR[u];
        if (f === undefined) {
          skipped.push(`interval ${iv.id}: ${p.type} in ${u} is not a power unit (KW, W, MW)`);
          continue;
        }
        factor = f;
        unit = 'KW';
      } else if (kind === 'price' || kind === 'export_price') {
        unit = d ? [d.currency, d.units].filter(Boolean).join('/') || null : null;
      }
      for (const slot of payloadSlots(iv, p)) {
        if ((kind === 'import_limit' || kind === 'export_limit') && slot.value < 0) {
          skipped.push(`interval ${iv.id}: ${p.type} must be >= 0`);
          continue;
        }
        const widen = kind === 'import_limit' || kind === 'export_limit' ? iv.randomizeMs : 0;
        signals.push({ kind, startMs: slot.startMs - widen, endMs: slot.endMs + widen, value: slot.value * factor, unit });
      }
    }
  }
  return { signals, skipped };
}

export interface NodeSignal extends DrSignal {
  nodeId: string;
}

/**
 * Limit signals → one capacity envelope per node over the horizon. A signal applies to every horizon
 * interval it overlaps (a limit shorter than an interval must hold anywhere inside it); where several
 * apply, the lowest wins. Other kinds are ignored.
 */
export function signalsToEnvelopes(signals: NodeSignal[], h: Horizon): CapacityEnvelope[] {
  const byNode = new Map<string, CapacityEnvelope>();
  const step = h.intervalMinutes * 60_000;
  for (const s of signals) {
    if (s.kind !== 'import_limit' && s.kind !== 'export_limit') continue;
    let env = byNode.get(s.nodeId);
    if (!env) {
      env = { nodeId: s.nodeId, importKw: Array<number | null>(h.count).fill(null), exportKw: Array<number | null>(h.count).fill(null) };
      byNode.set(s.nodeId, env);
    }
    const series = s.kind === 'import_limit' ? env.importKw : env.exportKw;
    for (let t = 0; t < h.count; t++) {
      const a = intervalStartMs(h, t);
      if (s.startMs < a + step && s.endMs > a) {
        const cur = series[t];
        series[t] = cur === null || cur === undefined ? s.value : Math.min(cur, s.value);
      }
    }
  }
  return [...byNode.values()];
}
