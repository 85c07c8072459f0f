import { randomBytes } from 'node:crypto';
import type { Gridflex } from '../main.ts';
import { alignToInterval } from '../../optimizer/model.ts';
import { SimDso } from './sim-dso.ts';
import { publishTwoTariffPrices, DEMO_TARIFF } from './demo-prices.ts';
import { SimStation, type EvNeeds, type OcppVersion } from './sim-station.ts';
import { demoTopology, DEMO_AREA, DEMO_GROUP } from './demo-topology.ts';

/**
 * The demo run by `npm start`: it sets gridflex up through its public interfaces only (admin API,
 * OSCP, OCPP), as a real deployment would be: topology import, station passwords, an OSCP DSO peer
 * that registers and posts forecasts, and a fleet of charge points with EVs coming and going.
 * One station in six speaks OCPP 2.1 with bidirectional (V2X) EVs, and an aggregator publishes a
 * two-tariff price on gridflex's OpenADR VTN, so the optimizer plans V2G discharge in the peak hours.
 */
export async function startDemo(g: Gridflex): Promise<{ describe(): string; stop(): Promise<void> }> {
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${g.url}/api/v1${path}`, {
      method,
      headers: { Authorization: `Bearer ${g.adminToken}`, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`demo: ${method} ${path} → ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };

  const n = g.config.DEMO_STATIONS;
  const topo = demoTopology(n);
  await api('PUT', '/topology', { nodes: topo.nodes, oscpGroups: topo.oscpGroups });

  const stations: SimStation[] = [];
  for (let i = 0; i < n; i++) {
    const stationId = topo.stationIds[i]!;
    const password = randomBytes(18).toString('base64url');
    await api('POST', `/stations/${encodeURIComponent(stationId)}/password`, { password });
    const version = stationVersion(i, n);
    // bidirectional AC wallboxes are 11 kW both ways
    stations.push(new SimStation({ url: `${g.url.replace(/^http/, 'ws')}/ocpp`, stationId, password, version, evseCount: 2, evMaxKw: version === '2.1' || i % 3 !== 0 ? 11 : 22 }));
  }
  await Promise.all(stations.map((s) => s.connect()));
  const count = (v: OcppVersion) => stations.filter((s) => s.version === v).length;

  // Prices: a peak / off-peak tariff on the grid area, published on the VTN as an aggregator would.
  const prices = await publishTwoTariffPrices(g.url, g.adminToken, DEMO_AREA);

  // The DSO side: a peer with a one-time registration token, then the OSCP 2.0 token exchange.
  const dso = new SimDso(`${g.url}/oscp/fp/2.0`);
  await dso.start();
  const peer = await api<{ peerId: string; registrationToken: string }>('POST', '/oscp/peers', { name: 'Demo DSO', role: 'capacity_provider' });
  await dso.register(peer.registrationToken);
  await waitFor(() => dso.isRegistered(), 10_000);
  const postForecast = async () => {
    const start = alignToInterval(Date.now());
    const blocks = Array.from({ length: 96 }, (_, i) => {
      const s = start + i * 15 * 60_000;
      const hour = new Date(s).getUTCHours() + 1; // CET-ish daily shape
      const evening = hour >= 17 && hour < 21 ? 0.55 : hour >= 7 && hour < 17 ? 0.8 : 1;
      const kw = Math.round(topo.areaKw * evening * (0.85 + 0.15 * Math.random()));
      return { start: new Date(s), end: new Date(s + 15 * 60_000), kw };
    });
    await dso.postForecast(DEMO_GROUP, blocks);
  };
  await postForecast();

  // EVs arrive and leave; time runs DEMO_SPEEDUP× faster for stays, real-time for power and energy.
  const speed = g.config.DEMO_SPEEDUP;
  const departures = new Map<string, number>();
  let stopped = false;
  const tick = async () => {
    const now = Date.now();
    for (const s of stations) {
      for (let e = 1; e <= 2; e++) {
        const key = `${s.opts.stationId}/${e}`;
        if (s.isCharging(e)) {
          if ((departures.get(key) ?? Infinity) <= now) {
            departures.delete(key);
            await s.stopCharging(e).catch(() => undefined);
          }
        } else if (Math.random() < 0.08) {
          const stayHours = 2 + Math.random() * 8;
          departures.set(key, now + (stayHours * 3_600_000) / speed);
          const needs: EvNeeds = { energyKwh: 8 + Math.round(Math.random() * 40), departure: new Date(now + stayHours * 3_600_000) };
          if (s.version === '2.1') {
            // a V2X EV: 10–40 kWh above its V2X minimum, room for its need plus 10–20 kWh; every other
            // one runs ISO 15118-20 Dynamic control (UpdateDynamicSchedule)
            needs.v2x = {
              maxDischargeKw: 10, aboveMinKwh: 10 + Math.round(Math.random() * 30), toMaxKwh: needs.energyKwh + 10 + Math.round(Math.random() * 10),
              controlMode: e === 2 ? 'DynamicControl' : 'ScheduledControl',
            };
          }
          await s.startCharging(e, s.version === '1.6' ? undefined : needs).catch(() => undefined);
        }
      }
      await s.sendMeterValues().catch(() => undefined);
    }
  };
  const loops = [
    setInterval(() => void (stopped ? undefined : tick()), 10_000),
    setInterval(() => void (stopped ? undefined : postForecast().catch(() => undefined)), 5 * 60_000),
    setInterval(() => void (stopped ? undefined : dso.heartbeat(180).catch(() => undefined)), 60_000),
  ];
  void tick();

  return {
    describe: () =>
      `${n} simulated charge points (${count('2.0.1')} × OCPP 2.0.1, ${count('1.6')} × OCPP 1.6J, ${count('2.1')} × OCPP 2.1 with V2X EVs, 2 EVSEs each) in grid area '${DEMO_AREA}', ` +
      `a simulated DSO (OSCP 2.0 peer ${peer.peerId}) posting 96 × 15-min forecasts for group '${DEMO_GROUP}' every 5 min, ` +
      `and a two-tariff price on the OpenADR VTN (program ${prices.programId}: ${DEMO_TARIFF.peakPrice} ${DEMO_TARIFF.currency}/kWh for ${DEMO_TARIFF.peakHours} h, ` +
      `then ${DEMO_TARIFF.offPeakPrice} for ${DEMO_TARIFF.offPeakHours} h, repeating from ${new Date(prices.startMs).toISOString()}), so V2X EVs discharge at peak. EVs arrive and leave every few minutes.`,
    async stop() {
      stopped = true;
      for (const l of loops) clearInterval(l);
      await Promise.all(stations.map((s) => s.close()));
      await dso.stop();
    },
  };
}

/**
 * The fleet mix: one station in six is OCPP 2.1 with V2X EVs (stations 3, 8, 13, 18, …: every fifth
 * from the third, so they sit at different sites and replace 2.0.1 and 1.6 stations alike); the rest
 * alternate 2.0.1 / 1.6J. 24 stations: 10 × 2.0.1, 10 × 1.6J, 4 × 2.1.
 */
export function stationVersion(i: number, n: number): OcppVersion {
  const v2x = Math.round(n / 6);
  if (i % 5 === 2 && (i - 2) / 5 < v2x) return '2.1';
  return i % 2 === 0 ? '2.0.1' : '1.6';
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('demo: timed out waiting for the DSO registration');
    await new Promise((r) => setTimeout(r, 50));
  }
}
