import { randomBytes } from 'node:crypto';
import type { Gridflex } from '../main.ts';
import { alignToInterval } from '../../optimizer/model.ts';
import { SimDso } from './sim-dso.ts';
import { SimStation } from './sim-station.ts';
import { demoTopology, DEMO_AREA, DEMO_GROUP } from './demo-topology.ts';

/**
 * The demo run by `npm start`: it sets gridflex up through its public interfaces only (admin API,
 * OSCP, OCPP), as a real deployment would be: topology import, station passwords, an OSCP DSO peer
 * that registers and posts forecasts, and a fleet of charge points with EVs coming and going.
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
    stations.push(new SimStation({ url: `${g.url.replace(/^http/, 'ws')}/ocpp`, stationId, password, version: i % 2 === 0 ? '2.0.1' : '1.6', evseCount: 2, evMaxKw: i % 3 === 0 ? 22 : 11 }));
  }
  await Promise.all(stations.map((s) => s.connect()));

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
          const needs = { energyKwh: 8 + Math.round(Math.random() * 40), departure: new Date(now + stayHours * 3_600_000) };
          await s.startCharging(e, s.version === '2.0.1' ? needs : undefined).catch(() => undefined);
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
      `${n} simulated charge points (${Math.ceil(n / 2)} × OCPP 2.0.1, ${Math.floor(n / 2)} × OCPP 1.6J, 2 EVSEs each) in grid area '${DEMO_AREA}', ` +
      `a simulated DSO (OSCP 2.0 peer ${peer.peerId}) posting 96 × 15-min forecasts for group '${DEMO_GROUP}' every 5 min. EVs arrive and leave every few minutes.`,
    async stop() {
      stopped = true;
      for (const l of loops) clearInterval(l);
      await Promise.all(stations.map((s) => s.close()));
      await dso.stop();
    },
  };
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('demo: timed out waiting for the DSO registration');
    await new Promise((r) => setTimeout(r, 50));
  }
}
