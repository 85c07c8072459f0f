/**
 * OCPP smart charging around the profiles the dispatch plan sends:
 *
 * - at boot: read the station's smart-charging capabilities (1.6 GetConfiguration, 2.0.1/2.1
 *   GetVariables on SmartChargingCtrlr), store them (ocpp_station_capability), and queue the failsafe
 *   TxDefaultProfile (grid-adapters/ocpp/failsafe.ts) through the outbox;
 * - after a SetChargingProfile is acknowledged (closed loop): read back GetCompositeSchedule for that
 *   EVSE (evse 0 for the station max), compare it with what was sent, record the result
 *   (ocpp_compliance + metrics), re-send the profile on a deviation, and flag the station
 *   (ocpp_station_flag) once OCPP_COMPLIANCE_MAX_RESENDS re-sends did not help.
 *
 * Nothing here ever throws into the connection: every failure is logged and counted.
 */
import { getConfigurationRequest16, getVariablesRequest2x, parseGetConfiguration16, parseGetVariables2x, preferredUnit, type StationCapabilities } from '../../grid-adapters/ocpp/capabilities.ts';
import { compareSchedules, reportedSchedule, sentSchedule } from '../../grid-adapters/ocpp/composite.ts';
import { buildFailsafeProfile, failsafeSlot } from '../../grid-adapters/ocpp/failsafe.ts';
import { isV2, type OcppVersion } from '../../grid-adapters/ocpp/profiles.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { audit } from '../store/audit-store.ts';
import type { Db, Queryable } from '../store/db.ts';
import { enqueue } from '../store/outbox-store.ts';
import { smartMetrics } from './ocpp-smart-metrics.ts';
import { countDeviation, flagStation, recordCompliance, resetResends, saveCapabilities, stationCapabilities } from './smart-store.ts';

export interface StationLink {
  stationId: string;
  gridAreaId: string;
  version: OcppVersion;
  call(method: string, params: unknown): Promise<unknown>;
}

export interface SmartCharging {
  /** Capabilities read + failsafe queued. Resolves when done; never rejects. */
  afterBoot(link: StationLink): Promise<void>;
  /** Closed-loop check of an acknowledged SetChargingProfile. Never rejects. */
  afterAck(link: StationLink, action: string, payload: unknown): Promise<void>;
}

/** Read-back window: the next hour of the sent schedule (or what is left of it). */
const READBACK_S = 3600;

export function createSmartCharging(deps: { db: Db; log: Logger; metrics: Metrics; config: Config }): SmartCharging {
  const { db, log, config } = deps;
  const m = smartMetrics(deps.metrics);
  // Acknowledged profiles per slot (station, purpose, evse). A read-back is compared with the profile
  // it was made for; when a newer profile for the same slot was acknowledged meanwhile, the station
  // rightly follows that one, so the stale comparison is dropped instead of counted as a deviation.
  const generation = new Map<string, number>();
  const slotOf = (stationId: string, sent: { purpose: string; evseId: number }) => `${stationId}/${sent.purpose}/${sent.evseId}`;

  async function readCapabilities(link: StationLink): Promise<StationCapabilities | undefined> {
    const v = link.version;
    try {
      const c = isV2(v)
        ? parseGetVariables2x((await link.call('GetVariables', getVariablesRequest2x())) as Parameters<typeof parseGetVariables2x>[0])
        : parseGetConfiguration16((await link.call('GetConfiguration', getConfigurationRequest16())) as Parameters<typeof parseGetConfiguration16>[0]);
      await saveCapabilities(db, link.stationId, v, c, c);
      m.capabilityReads.inc({ version: v, outcome: 'ok' });
      return c;
    } catch (err) {
      // NotSupported / NotImplemented / time-out: the defaults apply (48 periods, W).
      m.capabilityReads.inc({ version: v, outcome: 'failed' });
      log.info({ stationId: link.stationId, err: err instanceof Error ? err.message : String(err) }, 'station capabilities not read: defaults apply');
      return undefined;
    }
  }

  async function queueFailsafe(q: Queryable, link: StationLink, caps: StationCapabilities): Promise<void> {
    const station = await q.query<{ voltage_v: number | null; phases: number | null; evses: string | number; cap_kw: number | null }>(
      `SELECT s.voltage_v, s.phases,
         (SELECT count(*) FROM topology_node e WHERE e.parent_id = s.id AND e.kind = 'evse') AS evses,
         (SELECT sum(sp.cap_kw) FROM setpoint sp JOIN topology_node e ON e.id = sp.evse_id
            WHERE e.parent_id = s.id
              AND sp.run_id = (SELECT max(sp2.run_id) FROM setpoint sp2 JOIN topology_node e2 ON e2.id = sp2.evse_id WHERE e2.parent_id = s.id)
              AND sp.start_at = (SELECT max(sp3.start_at) FROM setpoint sp3 JOIN topology_node e3 ON e3.id = sp3.evse_id
                                 WHERE e3.parent_id = s.id AND sp3.start_at <= now()
                                   AND sp3.run_id = (SELECT max(sp4.run_id) FROM setpoint sp4 JOIN topology_node e4 ON e4.id = sp4.evse_id WHERE e4.parent_id = s.id))) AS cap_kw
       FROM topology_node s WHERE s.id = $1`,
      [link.stationId],
    );
    const s = station[0];
    const evses = Math.max(1, Number(s?.evses ?? 1));
    // The failsafe is OCPP_FAILSAFE_KW per EVSE, lowered to the station's last known cap shared over
    // its EVSEs when gridflex planned it before (never raised above the configured value).
    const lastShare = s?.cap_kw === null || s?.cap_kw === undefined ? undefined : Number(s.cap_kw) / evses;
    const kwPerEvse = Math.min(config.OCPP_FAILSAFE_KW, lastShare ?? Infinity);
    const payload = buildFailsafeProfile({
      version: link.version,
      kwPerEvse,
      unit: preferredUnit(caps),
      ...(s?.voltage_v ? { voltageV: s.voltage_v } : {}),
      ...(s?.phases ? { phases: s.phases } : {}),
    });
    await enqueue(q, { channel: 'ocpp', target: link.stationId, action: 'SetChargingProfile', payload, dedupeKey: `ocpp/${failsafeSlot(link.stationId)}` });
  }

  async function checkComposite(link: StationLink, payload: unknown, attempt: number, gen: number): Promise<void> {
    const sent = sentSchedule(payload);
    if (!sent) return; // Relative failsafe: nothing time-bound to compare
    const slot = slotOf(link.stationId, sent);
    const nowMs = Date.now();
    const endMs = sent.schedule.durationS === undefined ? Infinity : sent.schedule.startMs + sent.schedule.durationS * 1000;
    const duration = Math.floor(Math.min(READBACK_S, (endMs - nowMs) / 1000));
    if (duration < 1) return;
    const req = isV2(link.version)
      ? { evseId: sent.evseId, duration, chargingRateUnit: sent.schedule.unit }
      : { connectorId: sent.evseId, duration, chargingRateUnit: sent.schedule.unit };
    let conf: unknown;
    try {
      conf = await link.call('GetCompositeSchedule', req);
    } catch (err) {
      m.complianceChecks.inc({ grid_area: link.gridAreaId, kind: 'composite', result: 'unsupported' });
      log.debug({ stationId: link.stationId, err: err instanceof Error ? err.message : String(err) }, 'GetCompositeSchedule not answered: no read-back');
      return;
    }
    if (generation.get(slot) !== gen) return; // superseded while we asked: see `generation`
    const reported = reportedSchedule(conf);
    if (!reported) {
      m.complianceChecks.inc({ grid_area: link.gridAreaId, kind: 'composite', result: 'unsupported' });
      return;
    }
    const phases = (payload as { chargingProfile?: { chargingSchedule?: { chargingSchedulePeriod?: { numberPhases?: number }[] }[] } }).chargingProfile?.chargingSchedule?.[0]?.chargingSchedulePeriod?.[0]?.numberPhases;
    const cmp = compareSchedules(sent.schedule, reported, { toleranceKw: config.OCPP_COMPLIANCE_TOLERANCE_KW, ...(phases ? { phases } : {}) });
    await recordCompliance(db, {
      stationId: link.stationId,
      gridAreaId: link.gridAreaId,
      ocppEvseId: sent.evseId,
      kind: 'composite',
      ok: cmp.ok,
      excessKw: cmp.maxExcessKw,
      detail: { purpose: sent.purpose, attempt, ...(cmp.atMs === undefined ? {} : { at: new Date(cmp.atMs).toISOString() }) },
    });
    m.complianceChecks.inc({ grid_area: link.gridAreaId, kind: 'composite', result: cmp.ok ? 'ok' : 'deviation' });
    if (cmp.ok) {
      await resetResends(db, link.stationId);
      return;
    }
    const reason = `composite schedule exceeds the ${sent.purpose} on evse ${sent.evseId} by ${cmp.maxExcessKw} kW`;
    const resends = await countDeviation(db, link.stationId, reason);
    log.warn({ stationId: link.stationId, evseId: sent.evseId, excessKw: cmp.maxExcessKw, resends }, 'station does not follow its charging profile');
    if (resends >= config.OCPP_COMPLIANCE_MAX_RESENDS) {
      await db.tx(async (q) => {
        await flagStation(q, link.stationId, reason);
        await audit(q, 'gridflex', 'ocpp.StationFlagged', link.stationId, { reason, resends });
      });
      m.flagged.inc({ grid_area: link.gridAreaId });
      log.error({ stationId: link.stationId, reason }, 'station flagged non-compliant');
      return;
    }
    // Re-send the same profile (same id + stack level: it replaces, K01.FR.05 / 1.6 §5.16), then check again.
    m.resends.inc({ grid_area: link.gridAreaId });
    const answer = (await link.call('SetChargingProfile', payload)) as { status?: string };
    if (answer.status === 'Accepted') await checkComposite(link, payload, attempt + 1, gen);
  }

  return {
    async afterBoot(link) {
      try {
        const caps = config.OCPP_READ_CAPABILITIES ? ((await readCapabilities(link)) ?? (await stationCapabilities(db, link.stationId))) : await stationCapabilities(db, link.stationId);
        await db.tx((q) => queueFailsafe(q, link, caps));
      } catch (err) {
        log.error({ stationId: link.stationId, err }, 'boot-time smart charging setup failed');
      }
    },
    async afterAck(link, action, payload) {
      if (action !== 'SetChargingProfile' || !config.OCPP_COMPOSITE_READBACK) return;
      const sent = sentSchedule(payload);
      if (!sent) return;
      const slot = slotOf(link.stationId, sent);
      const gen = (generation.get(slot) ?? 0) + 1;
      generation.set(slot, gen);
      try {
        await checkComposite(link, payload, 0, gen);
      } catch (err) {
        log.warn({ stationId: link.stationId, err: err instanceof Error ? err.message : String(err) }, 'closed-loop check failed');
      }
    },
  };
}
