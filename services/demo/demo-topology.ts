export const DEMO_AREA = 'demo-area';
export const DEMO_GROUP = 'demo-group';

/** A grid area with one transformer, two CPOs, four sites and `stations` stations of 2 × 22 kW EVSEs. */
export function demoTopology(stations: number) {
  const nodes: Record<string, unknown>[] = [
    { id: DEMO_AREA, kind: 'grid_area', parentId: null, name: 'Demo feeder' },
    { id: 'demo-trafo', kind: 'connection_point', parentId: DEMO_AREA, name: 'Transformer 630 kVA', importLimitKw: 500 },
    { id: 'cpo-a', kind: 'cpo', parentId: 'demo-trafo', name: 'CPO A' },
    { id: 'cpo-b', kind: 'cpo', parentId: 'demo-trafo', name: 'CPO B' },
  ];
  const sites = ['site-a1', 'site-a2', 'site-b1', 'site-b2'];
  sites.forEach((s, i) => nodes.push({ id: s, kind: 'site', parentId: i < 2 ? 'cpo-a' : 'cpo-b', name: `Site ${s.slice(5).toUpperCase()}`, importLimitKw: 120 }));
  const stationIds: string[] = [];
  for (let i = 0; i < stations; i++) {
    const id = `CS-${String(i + 1).padStart(3, '0')}`;
    stationIds.push(id);
    nodes.push({ id, kind: 'station', parentId: sites[i % sites.length], voltageV: 230, phases: 3 });
    for (let e = 1; e <= 2; e++) nodes.push({ id: `${id}-${e}`, kind: 'evse', parentId: id, maxPowerKw: 22, minPowerKw: 4.1, ocppEvseId: e });
  }
  // The area's forecast scale: enough for roughly half the EVSEs at full power.
  const areaKw = Math.max(50, Math.round(stations * 2 * 22 * 0.45));
  return { nodes, oscpGroups: [{ groupId: DEMO_GROUP, nodeId: DEMO_AREA }], stationIds, areaKw };
}
