import { buildStationProfiles, stationMaxSlot, txSlot, type ProfileMessage, type StationPlan } from '../../grid-adapters/ocpp/profiles.ts';
import type { Logger } from 'pino';
import type { Allocation, EvseSchedule } from '../../optimizer/model.ts';
import type { Config } from '../config.ts';
import type { Queryable } from '../store/db.ts';
import { enqueueMany, type OutboxMessage } from '../store/outbox-store.ts';
import { areaCapabilities, planOptionsFrom } from '../ocpp/plan-options.ts';
import { buildSaScheduleProfile } from '../../grid-adapters/iso15118/sa-schedules.ts';
import type { StoredNode } from '../store/topology-store.ts';
import { buildDynamicTxProfile21, buildV2xTxProfile21, withStationDischargeLimit21 } from '../../grid-adapters/ocpp/v2x-21.ts';
import { dynamicOrUpdate, installedDynamicProfiles } from './dispatch-dynamic.ts';

/**
 * Turns a verified allocation into outbox messages: per station one station-wide max profile (its
 * EVSEs' caps: the grid share that keeps the area within its limits even if a session starts before
 * the next run) and a TxProfile per running transaction; per station one MQTT setpoint message.
 * Stations that never booted (no OCPP version known) get their profiles when they connect.
 *
 * Which TxProfile a running transaction gets (docs/ocpp.md, "Charging profiles gridflex sends"):
 * - OCPP 2.1 and a V2X session (2.1 V2X charging needs, or a negative setpoint): a CentralSetpoint
 *   profile with signed setpoints, import `limit` and `dischargeLimit` from the EVSE's export cap
 *   (grid-adapters/ocpp/v2x-21.ts). When the EV runs ISO 15118-20 Dynamic control mode the profile is
 *   `Dynamic` (one period: the current interval) and a later re-plan sends only UpdateDynamicSchedule
 *   while the installed profile stays otherwise the same (dispatch-dynamic.ts). The station maximum then
 *   also carries the station's export cap as `dischargeLimit`.
 * - OCPP 2.0.1 / 2.1 and ISO 15118 needs: up to three schedules for the EV's SAScheduleList, with a
 *   salesTariff of relative price levels when `prices` are known (grid-adapters/iso15118/sa-schedules.ts).
 * - otherwise the plan's setpoints. 1.6 / 2.0.1 profiles cannot express discharging: a negative setpoint
 *   is sent as 0 and logged (the optimizer only plans discharging for V2X demands, which only 2.1 creates).
 */
export async function planDispatch(
  q: Queryable,
  p: {
    runId: number; gridAreaId: string; allocation: Allocation; nodes: StoredNode[]; txByEvse: Map<string, string>; nowMs: number; config: Config; log: Logger;
    /** Energy price per horizon interval (null = unknown), for the ISO 15118 salesTariff. */
    prices?: (number | null)[];
  },
): Promise<number> {
  const { nodes } = p;
  // EVSEs grouped by station once: filtering per station is quadratic at 10 000 stations
  const evsesOf = new Map<string, StoredNode[]>();
  for (const n of nodes) if (n.kind === 'evse' && n.parentId) evsesOf.set(n.parentId, [...(evsesOf.get(n.parentId) ?? []), n]);
  const states = await q.query<{ station_id: string; ocpp_version: string | null; last_boot_at: unknown }>(
    `SELECT s.station_id, s.ocpp_version, s.last_boot_at FROM station_state s JOIN topology_node n ON n.id = s.station_id WHERE n.grid_area_id = $1`,
    [p.gridAreaId],
  );
  const versionOf = new Map(states.map((s) => [s.station_id, normaliseVersion(s.ocpp_version)]));
  // what each station reported at boot: periods per schedule and rate unit (2.x SmartChargingCtrlr, 1.6 ChargingScheduleMaxPeriods)
  const caps = await areaCapabilities(q, p.gridAreaId);
  const sessions = await openSessions(q, p.gridAreaId);
  const schedules = new Map(p.allocation.evses.map((e) => [e.evseId, e]));
  const count = p.allocation.horizon.count;
  const intervalS = p.allocation.horizon.intervalMinutes * 60;
  const out: OutboxMessage[] = [];
  const dynamicSlots: string[] = [];
  const built: { station: StoredNode; prof: ProfileMessage; payload: object; dynamic: boolean }[] = [];
  for (const station of nodes.filter((n) => n.kind === 'station')) {
    const evses = evsesOf.get(station.id) ?? [];
    const stationCapKw = Array<number>(count).fill(0);
    const stationExportKw = Array<number>(count).fill(0);
    const planEvses: StationPlan['evses'] = [];
    for (const e of evses) {
      const s = schedules.get(e.id);
      if (!s) continue;
      for (let t = 0; t < count; t++) {
        stationCapKw[t]! += s.capKw[t] ?? 0;
        stationExportKw[t]! += s.exportCapKw?.[t] ?? 0;
      }
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
    // V2X only where OCPP can say it: 2.1, a running transaction, and a V2X session or a planned discharge.
    const v2xEvses = new Set(
      version === '2.1' ? planEvses.filter((e) => e.transactionId !== null && (sessions.get(e.evseNodeId)?.v2x || e.kw.some((v) => v < 0))).map((e) => e.evseNodeId) : [],
    );
    for (const e of planEvses) {
      if (v2xEvses.has(e.evseNodeId) || !e.kw.some((v) => v < 0)) continue;
      p.log.warn({ stationId: station.id, evseId: e.evseNodeId, ocppVersion: version, runId: p.runId }, 'discharge planned for an EVSE whose profile cannot express it: sent as 0');
      e.kw = e.kw.map((v) => Math.max(0, v));
    }
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
      let payload: object = prof.payload;
      let dynamic = false;
      if (prof.slot === stationMaxSlot(station.id)) {
        if (v2xEvses.size > 0) payload = withStationDischargeLimit21(payload, stationExportKw, { intervalS, unit: plan.unit ?? 'W', ...(plan.voltageV ? { voltageV: plan.voltageV } : {}), ...(plan.phases ? { phases: plan.phases } : {}) });
      } else {
        const evse = plan.evses.find((e) => e.transactionId !== null && prof.slot === txSlot(plan.stationId, e.ocppEvseId));
        if (evse && v2xEvses.has(evse.evseNodeId)) {
          const v2x = v2xTxProfile(plan, evse, schedules.get(evse.evseNodeId), sessions.get(evse.evseNodeId)?.controlMode === 'DynamicControl', p.nowMs);
          payload = v2x.payload;
          dynamic = v2x.dynamic;
        } else if (evse && sessions.get(evse.evseNodeId)?.iso15118) {
          payload = saScheduleProfile(plan, evse, schedules.get(evse.evseNodeId), p.prices, sessions.get(evse.evseNodeId)?.maxScheduleTuples ?? null) ?? payload;
        }
      }
      if (dynamic) dynamicSlots.push(`ocpp/${prof.slot}`);
      built.push({ station, prof, payload, dynamic });
    }
  }
  // Dynamic profiles already installed unchanged but for their values: UpdateDynamicSchedule instead (K28).
  const bootMs = new Map(states.map((s) => [s.station_id, s.last_boot_at === null ? null : new Date(s.last_boot_at as string | Date).getTime()]));
  const installed = dynamicSlots.length > 0 ? await installedDynamicProfiles(q, dynamicSlots) : new Map();
  for (const b of built) {
    const key = `ocpp/${b.prof.slot}`;
    const m = b.dynamic ? dynamicOrUpdate(b.payload, installed.get(key), bootMs.get(b.station.id) ?? null) : { action: b.prof.action, payload: b.payload };
    // Same dedupe key for both: a newer message of the slot supersedes an undelivered older one, and the
    // outbox delivers a station's messages in id order, so an update never overtakes its profile.
    out.push({ channel: 'ocpp', target: b.station.id, action: m.action, payload: m.payload, dedupeKey: key, runId: p.runId });
  }
  return enqueueMany(q, out);
}

interface OpenSession {
  /** ISO 15118 needs were reported (NotifyEVChargingNeeds sets the departure). */
  iso15118: boolean;
  /** OCPP 2.1 V2X needs stored (session-store.ts). */
  v2x: boolean;
  controlMode: string | null;
  /** ISO 15118-2 MaxEntriesSAScheduleTuple from the needs. */
  maxScheduleTuples: number | null;
}

/** The newest open session per EVSE of the area, with what decides its TxProfile. */
async function openSessions(q: Queryable, gridAreaId: string): Promise<Map<string, OpenSession>> {
  const rows = await q.query<{ evse_id: string; iso15118: boolean; v2x: boolean; control_mode: string | null; max_schedule_tuples: number | null }>(
    `SELECT DISTINCT ON (s.evse_id) s.evse_id, s.departure_at IS NOT NULL AS iso15118, s.v2x_max_discharge_kw IS NOT NULL AS v2x, s.control_mode, s.max_schedule_tuples
     FROM charging_session s JOIN topology_node n ON n.id = s.evse_id
     WHERE n.grid_area_id = $1 AND s.stopped_at IS NULL
     ORDER BY s.evse_id, s.started_at DESC, s.id DESC`,
    [gridAreaId],
  );
  return new Map(rows.map((r) => [r.evse_id, { iso15118: r.iso15118, v2x: r.v2x, controlMode: r.control_mode, maxScheduleTuples: r.max_schedule_tuples === null ? null : Number(r.max_schedule_tuples) }]));
}

/**
 * The 2.1 V2X TxProfile of an EVSE (same id, slot and stack level as the plain one, so it replaces it):
 * CentralSetpoint periods with setpoint, limit = import cap, dischargeLimit = −export cap. Dynamic control
 * mode: one period for the current interval, valid for two intervals without an update (K28.FR.13: the
 * station then falls back to the failsafe TxDefaultProfile).
 */
function v2xTxProfile(plan: StationPlan, evse: StationPlan['evses'][number], s: EvseSchedule | undefined, dynamic: boolean, nowMs: number): { payload: object; dynamic: boolean } {
  const common = {
    ocppEvseId: evse.ocppEvseId, transactionId: evse.transactionId!,
    ...(plan.unit ? { unit: plan.unit } : {}),
    ...(plan.voltageV ? { voltageV: plan.voltageV } : {}),
    ...(plan.phases ? { phases: plan.phases } : {}),
    ...(plan.maxOfflineDurationS === undefined ? {} : { maxOfflineDurationS: plan.maxOfflineDurationS }),
  };
  if (dynamic) {
    return {
      dynamic: true,
      payload: buildDynamicTxProfile21({
        ...common, kw: evse.kw[0] ?? 0, intervalMinutes: plan.horizon.intervalMinutes, validS: 2 * plan.horizon.intervalMinutes * 60, nowMs,
        ...(s ? { importCapKw: s.capKw[0] ?? 0, exportCapKw: s.exportCapKw?.[0] ?? 0 } : {}),
      }),
    };
  }
  return {
    dynamic: false,
    payload: buildV2xTxProfile21({
      ...common, horizon: plan.horizon, kw: evse.kw,
      ...(s ? { importCapKw: s.capKw, ...(s.exportCapKw ? { exportCapKw: s.exportCapKw } : {}) } : {}),
      ...(plan.maxPeriods ? { maxPeriods: plan.maxPeriods } : {}),
    }),
  };
}

/**
 * For a 2.x TxProfile of a session with ISO 15118 needs: the same profile (same id, slot and stack
 * level) with up to three schedules for the EV to choose from (plan, cap, cautious flat), built by
 * grid-adapters/iso15118, with the salesTariff when prices are known, periods + tariff entries within the
 * EV's MaxEntriesSAScheduleTuple. Every schedule stays within the plan's caps, so the grid limit holds
 * whichever the EV picks.
 */
function saScheduleProfile(plan: StationPlan, evse: StationPlan['evses'][number], s: EvseSchedule | undefined, prices: (number | null)[] | undefined, maxScheduleTuples: number | null): object | undefined {
  if (plan.version === '1.6') return undefined;
  return buildSaScheduleProfile({
    version: plan.version, ocppEvseId: evse.ocppEvseId, transactionId: evse.transactionId!, horizon: plan.horizon, kw: evse.kw,
    ...(s ? { capKw: s.capKw } : {}),
    ...(plan.unit ? { unit: plan.unit } : {}),
    ...(plan.voltageV ? { voltageV: plan.voltageV } : {}),
    ...(plan.phases ? { phases: plan.phases } : {}),
    ...(plan.maxPeriods ? { maxPeriods: plan.maxPeriods } : {}),
    ...(prices && prices.length === plan.horizon.count ? { prices } : {}),
    ...(maxScheduleTuples ? { maxScheduleTuples } : {}),
  });
}

function normaliseVersion(v: string | null): '1.6' | '2.0.1' | '2.1' | undefined {
  if (!v) return undefined;
  const s = v.replace(/^ocpp/i, '');
  return s === '1.6' || s === '2.0.1' || s === '2.1' ? s : undefined;
}
