import { buildStationProfiles, txSlot, type ProfileMessage, type StationPlan } from '../../grid-adapters/ocpp/profiles.ts';
import type { Logger } from 'pino';
import type { Allocation, EvseSchedule } from '../../optimizer/model.ts';
import type { Config } from '../config.ts';
import type { Queryable } from '../store/db.ts';
import { enqueueMany, type OutboxMessage } from '../store/outbox-store.ts';
import { areaCapabilities, planOptionsFrom } from '../ocpp/plan-options.ts';
import { buildSaScheduleProfile } from '../../grid-adapters/iso15118/sa-schedules.ts';
import type { StoredNode } from '../store/topology-store.ts';

/**
 * Turns a verified allocation into outbox messages: per station one station-wide max profile (its
 * EVSEs' caps: the grid share that keeps the area within its limits even if a session starts before
 * the next run) and a TxProfile per running transaction; per station one MQTT setpoint message.
 * Stations that never booted (no OCPP version known) get their profiles when they connect.
 */
export async function planDispatch(
  q: Queryable,
  p: { runId: number; gridAreaId: string; allocation: Allocation; nodes: StoredNode[]; txByEvse: Map<string, string>; nowMs: number; config: Config; log: Logger },
): Promise<number> {
  const { nodes } = p;
  // EVSEs grouped by station once: filtering per station is quadratic at 10 000 stations
  const evsesOf = new Map<string, StoredNode[]>();
  for (const n of nodes) if (n.kind === 'evse' && n.parentId) evsesOf.set(n.parentId, [...(evsesOf.get(n.parentId) ?? []), n]);
  const states = await q.query<{ station_id: string; ocpp_version: string | null }>(
    `SELECT s.station_id, s.ocpp_version FROM station_state s JOIN topology_node n ON n.id = s.station_id WHERE n.grid_area_id = $1`,
    [p.gridAreaId],
  );
  const versionOf = new Map(states.map((s) => [s.station_id, normaliseVersion(s.ocpp_version)]));
  // what each station reported at boot: periods per schedule and rate unit (2.x SmartChargingCtrlr, 1.6 ChargingScheduleMaxPeriods)
  const caps = await areaCapabilities(q, p.gridAreaId);
  // Sessions that told their needs over ISO 15118 (NotifyEVChargingNeeds sets the departure): their
  // TxProfile carries schedules the station turns into the EV's SAScheduleList (OCPP 2.0.1 K15).
  const iso15118 = new Set(
    (await q.query<{ evse_id: string }>(
      `SELECT s.evse_id FROM charging_session s JOIN topology_node n ON n.id = s.evse_id
       WHERE n.grid_area_id = $1 AND s.stopped_at IS NULL AND s.departure_at IS NOT NULL`,
      [p.gridAreaId],
    )).map((r) => r.evse_id),
  );
  const schedules = new Map(p.allocation.evses.map((e) => [e.evseId, e]));
  const count = p.allocation.horizon.count;
  const out: OutboxMessage[] = [];
  for (const station of nodes.filter((n) => n.kind === 'station')) {
    const evses = evsesOf.get(station.id) ?? [];
    const stationCapKw = Array<number>(count).fill(0);
    const planEvses: StationPlan['evses'] = [];
    for (const e of evses) {
      const s = schedules.get(e.id);
      if (!s) continue;
      for (let t = 0; t < count; t++) stationCapKw[t]! += s.capKw[t] ?? 0;
      planEvses.push({ evseNodeId: e.id, ocppEvseId: e.ocppEvseId ?? 1, transactionId: p.txByEvse.get(e.id) ?? null, kw: s.kw });
    }
    const mqttTopic = `${p.config.MQTT_TOPIC_PREFIX}/setpoints/${station.id}`;
    out.push({
      channel: 'mqtt', target: mqttTopic, action: 'publish', runId: p.runId, dedupeKey: `mqtt/${station.id}`,
      payload: {
        stationId: station.id, gridAreaId: p.gridAreaId, runId: p.runId, unit: 'kW',
        startAt: new Date(p.allocation.horizon.startMs).toISOString(), intervalMinutes: p.allocation.horizon.intervalMinutes,
        stationCapKw, evses: planEvses.map((e) => ({ evseId: e.evseNodeId, transactionId: e.transactionId, kw: e.kw })),
      },
    });
    const version = versionOf.get(station.id);
    if (!version) continue;
    const plan: StationPlan = {
      version, stationId: station.id, horizon: p.allocation.horizon, nowMs: p.nowMs, stationCapKw, evses: planEvses,
      // If gridflex goes silent past the horizon, the lowest cap of the horizon stays in force: conservative.
      holdAfterHorizonKw: Math.min(...stationCapKw),
      ...planOptionsFrom(caps.get(station.id) ?? {}, version, p.config),
      ...(station.voltageV ? { voltageV: station.voltageV } : {}),
      ...(station.phases ? { phases: station.phases } : {}),
    };
    let profiles: ProfileMessage[];
    try {
      profiles = buildStationProfiles(plan);
    } catch (err) {
      // One station's bad plan (e.g. a stale horizon) must not hold back the others' profiles.
      p.log.error({ err, stationId: station.id, runId: p.runId }, 'could not build charging profiles for station');
      continue;
    }
    for (const prof of profiles) {
      out.push({ channel: 'ocpp', target: station.id, action: prof.action, payload: saScheduleInstead(prof, plan, schedules, iso15118) ?? prof.payload, dedupeKey: `ocpp/${prof.slot}`, runId: p.runId });
    }
  }
  return enqueueMany(q, out);
}

/**
 * For a 2.x TxProfile of a session with ISO 15118 needs: the same profile (same id, slot and stack
 * level) with up to three schedules for the EV to choose from (plan, cap, cautious flat), built by
 * grid-adapters/iso15118. Every schedule stays within the plan's caps, so the grid limit holds whichever
 * the EV picks. Returns undefined to keep the plain TxProfile.
 */
function saScheduleInstead(prof: ProfileMessage, plan: StationPlan, schedules: Map<string, EvseSchedule>, iso15118: Set<string>): object | undefined {
  if (plan.version === '1.6') return undefined;
  const evse = plan.evses.find((e) => e.transactionId !== null && prof.slot === txSlot(plan.stationId, e.ocppEvseId));
  if (!evse || !iso15118.has(evse.evseNodeId)) return undefined;
  const s = schedules.get(evse.evseNodeId);
  return buildSaScheduleProfile({
    version: plan.version, ocppEvseId: evse.ocppEvseId, transactionId: evse.transactionId!, horizon: plan.horizon, kw: evse.kw,
    ...(s ? { capKw: s.capKw } : {}),
    ...(plan.unit ? { unit: plan.unit } : {}),
    ...(plan.voltageV ? { voltageV: plan.voltageV } : {}),
    ...(plan.phases ? { phases: plan.phases } : {}),
  });
}

function normaliseVersion(v: string | null): '1.6' | '2.0.1' | '2.1' | undefined {
  if (!v) return undefined;
  const s = v.replace(/^ocpp/i, '');
  return s === '1.6' || s === '2.0.1' || s === '2.1' ? s : undefined;
}
