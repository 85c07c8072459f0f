import fc from 'fast-check';
import type { Allocation, AllocationInput, CapacityEnvelope, ChargingDemand, SharingPolicy, TopologyNode } from '../../../optimizer/index.ts';
import { area, at, envelope, evse, horizon, node } from './builders.ts';

export const DT_H = 0.25;

/**
 * Random areas with 2–3 CPOs directly under the grid area, each with a weight and a class; no min power
 * (no rounding after the LP besides the 0.001 kW floor) and no priority sessions (they rank above the
 * sharing term, so the policies' definitions hold among plain sessions).
 */
const kwLimit = fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined, freq: 2 });
const sessionSpec = fc.record({
  from: fc.integer({ min: -1, max: 8 }),
  offsetMin: fc.constantFrom(0, 0, 5),
  length: fc.integer({ min: 1, max: 10 }),
  energyKwh: fc.integer({ min: 0, max: 60 }).map((x) => x / 2),
  maxPowerKw: fc.option(fc.constantFrom(3.7, 7.4, 11), { nil: undefined }),
});
const cpoSpec = fc.record({
  limit: kwLimit,
  weight: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
  cls: fc.integer({ min: 0, max: 2 }),
  sites: fc.array(fc.record({ limit: kwLimit, evses: fc.array(fc.record({ max: fc.constantFrom(3.7, 11, 22), session: fc.option(sessionSpec, { nil: undefined, freq: 4 }) }), { minLength: 1, maxLength: 3 }) }), { minLength: 1, maxLength: 2 }),
});
export const sharedInstance = fc.record({
  count: fc.integer({ min: 1, max: 10 }),
  areas: fc.array(fc.record({ limit: fc.integer({ min: 0, max: 60 }), profile: fc.option(fc.array(fc.option(fc.integer({ min: 0, max: 60 }), { nil: null }), { minLength: 10, maxLength: 10 }), { nil: undefined }), cpos: fc.array(cpoSpec, { minLength: 2, maxLength: 3 }) }), { minLength: 1, maxLength: 2 }),
  weighted: fc.boolean(),
  prices: fc.option(fc.array(fc.integer({ min: -5, max: 40 }), { minLength: 10, maxLength: 10 }), { nil: undefined }),
  /** fcfs: a random order of the CPOs (by a sort key each), the last `unlisted` of them left out. */
  orderKeys: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 6, maxLength: 6 }),
  unlisted: fc.integer({ min: 0, max: 2 }),
});
export type SharedSpec = typeof sharedInstance extends fc.Arbitrary<infer S> ? S : never;
export type PolicyName = 'proportional' | 'maxmin' | 'priority' | 'fcfs';

export function toSharedInput(spec: SharedSpec, policy: PolicyName): AllocationInput {
  const nodes: TopologyNode[] = [];
  const demands: ChargingDemand[] = [];
  const envelopes: CapacityEnvelope[] = [];
  const weights: Record<string, number> = {};
  const classes: Record<string, number> = {};
  const cpoIds: string[] = [];
  spec.areas.forEach((a, ai) => {
    const g = `g${ai}`;
    nodes.push(area(g, a.limit));
    if (a.profile) envelopes.push(envelope(g, a.profile.slice(0, spec.count)));
    a.cpos.forEach((c, ci) => {
      const cpo = `${g}.c${ci}`;
      cpoIds.push(cpo);
      nodes.push(node(cpo, 'cpo', g, c.limit));
      weights[cpo] = c.weight ?? 1;
      classes[cpo] = c.cls;
      c.sites.forEach((s, si) => {
        const site = `${cpo}.s${si}`;
        nodes.push(node(site, 'site', cpo, s.limit));
        s.evses.forEach((e, ei) => {
          const id = `${site}.e${ei}`;
          nodes.push(evse(id, site, e.max));
          if (!e.session) return;
          const arrivalMs = at(e.session.from, e.session.offsetMin);
          demands.push({
            sessionId: `${id}:s`, evseId: id, arrivalMs, departureMs: arrivalMs + e.session.length * 15 * 60_000, energyKwh: e.session.energyKwh,
            ...(e.session.maxPowerKw === undefined ? {} : { maxPowerKw: e.session.maxPowerKw }),
          });
        });
      });
    });
  });
  let sharing: SharingPolicy;
  if (policy === 'priority') sharing = { policy, classes };
  else if (policy === 'fcfs') {
    const order = [...cpoIds].sort((a, b) => spec.orderKeys[cpoIds.indexOf(a)]! - spec.orderKeys[cpoIds.indexOf(b)]! || a.localeCompare(b));
    sharing = { policy, order: order.slice(0, Math.max(0, order.length - spec.unlisted)) };
  } else sharing = spec.weighted ? { policy, weights } : { policy };
  return {
    horizon: horizon(spec.count), nodes, envelopes, demands, sharing,
    ...(spec.prices ? { pricePerKwh: spec.prices.slice(0, spec.count).map((x) => x / 100) } : {}),
  };
}

/** One CPO taking part in one interval of a grid area, computed from the input and the result alone. */
export interface Participant {
  cpo: string;
  /** Energy its EVSEs get in the interval (kWh). */
  kwh: number;
  /**
   * None of its EVs could have taken more: every session of it present for the whole interval and still
   * short of energy is at its max power or behind a full limit below the grid area (EVSE, site or CPO).
   */
  saturated: boolean;
}

/**
 * Per interval and grid area, the CPOs taking part: those with an EV present that can charge (energy
 * wanted, every limit on its path > 0). Only areas and intervals where at least two take part.
 */
export function participantsOf(inp: AllocationInput, alloc: Allocation): { t: number; part: Participant[] }[] {
  const T = inp.horizon.count;
  const byId = new Map(inp.nodes.map((n) => [n.id, n]));
  const limit = (id: string, t: number): number => {
    let l = byId.get(id)!.importLimitKw ?? Number.POSITIVE_INFINITY;
    for (const env of inp.envelopes) if (env.nodeId === id && env.importKw[t] !== null && env.importKw[t] !== undefined) l = Math.min(l, env.importKw[t]!);
    return l;
  };
  const pathOf = (id: string): string[] => {
    const path: string[] = [];
    for (let n = byId.get(id); n; n = n.parentId === null ? undefined : byId.get(n.parentId)) path.push(n.id);
    return path;
  };
  const kw = new Map(alloc.evses.map((e) => [e.evseId, e.kw]));
  const unmet = new Map(alloc.unmet.map((u) => [u.sessionId, u.kwh]));
  const out: { t: number; part: Participant[] }[] = [];
  for (let t = 0; t < T; t++) {
    const start = at(t);
    const load = new Map<string, number>();
    for (const [id, v] of kw) for (const n of pathOf(id)) load.set(n, (load.get(n) ?? 0) + v[t]!);
    for (const root of inp.nodes.filter((n) => n.parentId === null)) {
      const part = new Map<string, Participant>();
      for (const d of inp.demands) {
        const path = pathOf(d.evseId);
        if (path.at(-1) !== root.id) continue;
        const overlap = (Math.min(start + 15 * 60_000, d.departureMs) - Math.max(start, d.arrivalMs)) / (15 * 60_000);
        const max = Math.min(byId.get(d.evseId)!.maxPowerKw!, d.maxPowerKw ?? Number.POSITIVE_INFINITY, ...path.map((n) => limit(n, t)));
        if (!(overlap > 0) || !(d.energyKwh > 0) || !(max > 0)) continue;
        const cpo = path.at(-2)!;
        const entry = part.get(cpo) ?? { cpo, kwh: 0, saturated: true };
        const v = kw.get(d.evseId)![t]!;
        entry.kwh += v * DT_H * overlap;
        if (overlap === 1 && (unmet.get(d.sessionId) ?? 0) > 0.005) {
          const atMax = v >= Math.min(byId.get(d.evseId)!.maxPowerKw!, d.maxPowerKw ?? Number.POSITIVE_INFINITY) - 0.002;
          const blocked = path.slice(0, -1).some((n) => load.get(n)! >= limit(n, t) - 0.002);
          if (!atMax && !blocked) entry.saturated = false;
        }
        part.set(cpo, entry);
      }
      if (part.size >= 2) out.push({ t, part: [...part.values()] });
    }
  }
  return out;
}

/** kWh delivered in all: wanted less unmet. */
export function delivered(inp: AllocationInput, a: Allocation): number {
  return inp.demands.reduce((s, d) => s + d.energyKwh, 0) - a.unmet.reduce((s, u) => s + u.kwh, 0);
}
