import fc from 'fast-check';
import type { AllocationInput } from '../../../optimizer/index.ts';
import { instance, toInput } from './random-instances.ts';

/**
 * Random instances with V2G (random-instances.ts plus): V2G state on some sessions (SoC anywhere from
 * under the min SoC to full), export limits on some nodes (static or by envelope, sometimes 0), and
 * negative envelope import limits (required export) on some nodes and intervals, some more than the
 * V2G sessions below could ever give.
 */
const v2gState = fc.record({
  maxDischargeKw: fc.constantFrom(3.7, 7.4, 11),
  minSocKwh: fc.integer({ min: 0, max: 20 }),
  socAbove: fc.integer({ min: -2, max: 30 }),
  room: fc.integer({ min: 0, max: 30 }),
});
const exportKw = fc.oneof({ arbitrary: fc.integer({ min: 2, max: 30 }), weight: 5 }, { arbitrary: fc.constant(0), weight: 1 });
export const v2gInstance = fc.record({
  base: instance,
  // Weighted explicitly: about 2 sessions in 3 V2G, a third of the nodes with an export limit, a required
  // export in about 1 interval in 5.
  v2g: fc.array(fc.oneof({ arbitrary: v2gState, weight: 2 }, { arbitrary: fc.constant(undefined), weight: 1 }), { minLength: 40, maxLength: 40 }),
  exportLimit: fc.array(fc.oneof({ arbitrary: exportKw, weight: 1 }, { arbitrary: fc.constant(undefined), weight: 2 }), { minLength: 60, maxLength: 60 }),
  exportEnvelope: fc.array(fc.oneof({ arbitrary: exportKw, weight: 1 }, { arbitrary: fc.constant(null), weight: 3 }), { minLength: 16, maxLength: 16 }),
  required: fc.array(fc.oneof({ arbitrary: fc.integer({ min: 1, max: 25 }), weight: 1 }, { arbitrary: fc.constant(null), weight: 4 }), { minLength: 16, maxLength: 16 }),
  requiredAt: fc.nat(),
  /** Two-tariff prices (cheap and dear blocks) instead of the base's random ones. */
  twoTariff: fc.boolean(),
});

export type V2gSpec = typeof v2gInstance extends fc.Arbitrary<infer S> ? S : never;

export function toV2gInput(spec: V2gSpec): AllocationInput {
  const inp = toInput(spec.base);
  const count = inp.horizon.count;
  inp.demands = inp.demands.map((d, i) => {
    const v = spec.v2g[i % spec.v2g.length];
    if (!v) return d;
    const socKwh = Math.max(0, v.minSocKwh + v.socAbove);
    return { ...d, v2g: { maxDischargeKw: v.maxDischargeKw, minSocKwh: v.minSocKwh, socKwh, capacityKwh: socKwh + v.room } };
  });
  inp.nodes = inp.nodes.map((n, i) => {
    const x = spec.exportLimit[i % spec.exportLimit.length];
    return x === undefined || n.kind === 'evse' ? n : { ...n, exportLimitKw: x };
  });
  const sites = inp.nodes.filter((n) => n.kind === 'site' || n.kind === 'grid_area');
  const target = sites[spec.requiredAt % sites.length]!;
  inp.envelopes.push({
    nodeId: target.id,
    importKw: spec.required.slice(0, count).map((r) => (r === null ? null : -r)),
    exportKw: spec.exportEnvelope.slice(0, count),
  });
  if (spec.twoTariff) inp.pricePerKwh = Array.from({ length: count }, (_, t) => (Math.floor(t / 3) % 2 === 0 ? 0.35 : 0.1));
  return inp;
}
