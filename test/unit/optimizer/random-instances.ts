import fc from 'fast-check';
import type { AllocationInput, CapacityEnvelope, ChargingDemand, TopologyNode } from '../../../optimizer/index.ts';
import { at, envelope, horizon } from './builders.ts';

/** Random instances for the property tests: grid area → optional CPO → site → station → EVSE. */
const MAX_INTERVALS = 16;
/** 50 keeps `npm test` fast; a soak run sets e.g. PROP_RUNS=10000. */
export const RUNS = Number(process.env.PROP_RUNS ?? 50);

/** Mostly usable limits, sometimes 0 (a DSO can cut a node off completely). */
const kw = fc.oneof({ arbitrary: fc.integer({ min: 4, max: 40 }), weight: 5 }, { arbitrary: fc.constant(0), weight: 1 });
const limit = fc.option(kw, { nil: undefined, freq: 2 });
const profile = fc.option(fc.array(fc.option(kw, { nil: null, freq: 2 }), { minLength: MAX_INTERVALS, maxLength: MAX_INTERVALS }), { nil: undefined });
const session = fc.record({
  from: fc.integer({ min: -2, max: 10 }),
  offsetMin: fc.constantFrom(0, 0, 5, 10),
  // Mostly stays of a few intervals or more; 0 keeps the "leaves as it arrives" case.
  length: fc.integer({ min: 0, max: MAX_INTERVALS }).map((n) => (n === 0 ? 0 : n + 2)),
  energyKwh: fc.integer({ min: 0, max: 80 }).map((x) => x / 10),
  maxPowerKw: fc.option(fc.constantFrom(3.7, 7.4, 11), { nil: undefined }),
  minPowerKw: fc.option(fc.constantFrom(1.4, 4.2), { nil: undefined }),
});
const evseSpec = fc.record({
  max: fc.constantFrom(3.7, 7.4, 11, 22),
  min: fc.constantFrom(0, 0, 0, 1.4),
  session: fc.option(session, { nil: undefined }),
});
const stationSpec = fc.record({ limit, evses: fc.array(evseSpec, { minLength: 1, maxLength: 2 }) });
const siteSpec = fc.record({ limit, profile, stations: fc.array(stationSpec, { minLength: 1, maxLength: 2 }) });
const areaSpec = fc.record({
  limit,
  profile,
  cpo: fc.option(fc.record({ limit }), { nil: undefined }),
  sites: fc.array(siteSpec, { minLength: 1, maxLength: 3 }),
});
/** Prices per kWh, sometimes negative, sometimes missing (null) or absent altogether. */
const prices = fc.option(fc.array(fc.option(fc.integer({ min: -5, max: 40 }).map((x) => x / 100), { nil: null, freq: 6 }), { minLength: MAX_INTERVALS, maxLength: MAX_INTERVALS }), { nil: undefined });
export const instance = fc.record({ count: fc.integer({ min: 1, max: MAX_INTERVALS }), areas: fc.array(areaSpec, { minLength: 1, maxLength: 2 }), prices });

export type Spec = typeof instance extends fc.Arbitrary<infer S> ? S : never;

/** grid area → optional CPO → site → station → EVSE, with ids that tell where a node sits. */
export function toInput(spec: Spec): AllocationInput {
  const nodes: TopologyNode[] = [];
  const demands: ChargingDemand[] = [];
  const envelopes: CapacityEnvelope[] = [];
  const withLimit = (n: TopologyNode, l: number | undefined): TopologyNode => (l === undefined ? n : { ...n, importLimitKw: l });
  spec.areas.forEach((a, ai) => {
    const g = `g${ai}`;
    nodes.push(withLimit({ id: g, kind: 'grid_area', parentId: null }, a.limit));
    if (a.profile) envelopes.push(envelope(g, a.profile.slice(0, spec.count)));
    let parent = g;
    if (a.cpo) {
      parent = `${g}.cpo`;
      nodes.push(withLimit({ id: parent, kind: 'cpo', parentId: g }, a.cpo.limit));
    }
    a.sites.forEach((s, si) => {
      const site = `${g}.s${si}`;
      nodes.push(withLimit({ id: site, kind: 'site', parentId: parent }, s.limit));
      if (s.profile) envelopes.push(envelope(site, s.profile.slice(0, spec.count)));
      s.stations.forEach((st, ti) => {
        const station = `${site}.cs${ti}`;
        nodes.push(withLimit({ id: station, kind: 'station', parentId: site }, st.limit));
        st.evses.forEach((e, ei) => {
          const id = `${station}.e${ei}`;
          nodes.push({ id, kind: 'evse', parentId: station, maxPowerKw: e.max, ...(e.min > 0 ? { minPowerKw: e.min } : {}) });
          if (!e.session) return;
          const arrivalMs = at(e.session.from, e.session.offsetMin);
          demands.push({
            sessionId: `${id}:s`, evseId: id, arrivalMs, departureMs: arrivalMs + e.session.length * 15 * 60_000,
            energyKwh: e.session.energyKwh,
            ...(e.session.maxPowerKw === undefined ? {} : { maxPowerKw: e.session.maxPowerKw }),
            ...(e.session.minPowerKw === undefined ? {} : { minPowerKw: e.session.minPowerKw }),
          });
        });
      });
    });
  });
  return { horizon: horizon(spec.count), nodes, envelopes, demands, ...(spec.prices ? { pricePerKwh: spec.prices.slice(0, spec.count) } : {}) };
}

