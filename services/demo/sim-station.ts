import { RPCClient } from 'ocpp-rpc';
import { ocpp21Validator } from '../../grid-adapters/ocpp/schemas-21.ts';

/**
 * A simulated charge point: a real OCPP-J WebSocket client (ocpp-rpc in strict mode, so every message
 * it sends and receives is checked against the official schemas), independent of the CSMS code.
 * It keeps the charging profiles it receives and draws the power they allow.
 *
 * OCPP 2.1 (V2X): an EV with `v2x` needs announces an ISO 15118-20 bidirectional service (AC_BPT) with
 * v2xChargingParameters, and the station then follows CentralSetpoint periods: the signed `setpoint`
 * (negative = discharging, 2.1 ChargingSchedulePeriodType) within `limit` (import cap) and `dischargeLimit`
 * (≤ 0, export cap), Dynamic profiles included (UpdateDynamicSchedule, K28). Its meter values report
 * import and export separately (Power.Active.Import / .Export, Energy.Active.Import / .Export.Register),
 * as OCPP measurands are magnitudes per direction.
 * The only project code used is the 2.1 schema set (ocpp-rpc 2.2 ships it under ids its strict mode
 * cannot find; schemas-21.ts re-keys them, content unchanged).
 */
export type OcppVersion = '1.6' | '2.0.1' | '2.1';

interface Period {
  startPeriod: number;
  limit?: number;
  /** 2.1 CentralSetpoint: signed, negative = discharging (same unit as limit). */
  setpoint?: number;
  /** 2.1: ≤ 0, the most the EVSE may discharge. */
  dischargeLimit?: number;
}
interface StoredProfile {
  id: number;
  purpose: string;
  kind: string;
  evseId: number;
  startMs: number;
  /** Seconds from startMs after which the profile no longer applies; undefined = open-ended. */
  durationS?: number;
  unit: 'W' | 'A';
  periods: Period[];
}

/** What an arriving EV tells the station (ISO 15118), 2.x only. */
export interface EvNeeds {
  energyKwh: number;
  departure: Date;
  /** 2.1 only: the EV offers V2X (ISO 15118-20 BPT). */
  v2x?: {
    /** The EV's max discharge power (kW, a magnitude). */
    maxDischargeKw: number;
    /** Energy above the EV's V2X minimum SoC now (kWh): what it may give back. */
    aboveMinKwh: number;
    /** Energy to the EV's maximum SoC (kWh, ≥ energyKwh). */
    toMaxKwh: number;
    /** ISO 15118-20 control mode; DynamicControl gets a Dynamic profile (K19, K28). */
    controlMode?: 'ScheduledControl' | 'DynamicControl';
  };
}

export interface SimStationOptions {
  url: string; // ws://host:port/ocpp
  stationId: string;
  password: string;
  version: OcppVersion;
  evseCount: number;
  evMaxKw?: number;
  voltage?: number;
  phases?: number;
}

type ClientOptions = ConstructorParameters<typeof RPCClient>[0];
type Obj = Record<string, unknown>;

const PROTOCOL: Record<OcppVersion, string> = { '1.6': 'ocpp1.6', '2.0.1': 'ocpp2.0.1', '2.1': 'ocpp2.1' };

interface Tx {
  id: string;
  importWh: number;
  exportWh: number;
  lastMs: number;
  seq: number;
  /** The EV's discharge ability (kW) when it runs V2X, else 0. */
  maxDischargeKw: number;
}

export class SimStation {
  readonly client: RPCClient;
  readonly profiles = new Map<string, StoredProfile>();
  /** Every SetChargingProfile payload received, newest last. */
  readonly received: { at: number; payload: Record<string, unknown> }[] = [];
  /** Every UpdateDynamicSchedule payload received (2.1), newest last. */
  readonly dynamicUpdates: { at: number; payload: Record<string, unknown>; status: 'Accepted' | 'Rejected' }[] = [];
  private readonly tx = new Map<number, Tx>();
  private txCounter = 0;

  constructor(readonly opts: SimStationOptions) {
    const options: Partial<ClientOptions> = {
      endpoint: opts.url,
      identity: opts.stationId,
      password: opts.password,
      protocols: [PROTOCOL[opts.version]],
      strictMode: true,
      // ocpp-rpc's built-in 2.1 validator cannot find its schemas; this one is the same set, re-keyed.
      ...(opts.version === '2.1' ? { strictModeValidators: [ocpp21Validator()] } : {}),
      reconnect: true,
      callTimeoutMs: 15_000,
    };
    this.client = new RPCClient(options as ClientOptions);
    this.client.handle('SetChargingProfile', async ({ params }) => {
      const p = (params ?? {}) as Obj;
      this.received.push({ at: Date.now(), payload: p });
      this.store(p);
      return { status: 'Accepted' };
    });
    if (opts.version === '2.1') {
      // K28: new values for the single period of a Dynamic profile; each update renews its validity
      // (K28.FR.14: dynUpdateTime restarts the `duration` window).
      this.client.handle('UpdateDynamicSchedule', async ({ params }) => {
        const p = (params ?? {}) as { chargingProfileId: number; scheduleUpdate: Obj };
        const prof = [...this.profiles.values()].find((x) => x.id === p.chargingProfileId && x.kind === 'Dynamic');
        const status = prof ? 'Accepted' : 'Rejected';
        this.dynamicUpdates.push({ at: Date.now(), payload: p as unknown as Obj, status });
        if (!prof) return { status, statusInfo: { reasonCode: 'UnknownProfile' } };
        const u = p.scheduleUpdate;
        const cur = prof.periods[0] ?? { startPeriod: 0 };
        prof.periods = [{
          startPeriod: 0,
          ...numField('limit', u.limit ?? cur.limit),
          ...numField('setpoint', u.setpoint ?? cur.setpoint),
          ...numField('dischargeLimit', u.dischargeLimit ?? cur.dischargeLimit),
        }];
        prof.startMs = Date.now();
        return { status };
      });
    }
    this.client.handle('ClearChargingProfile', async () => ({ status: 'Accepted' }));
    // What a real charger reports about its smart-charging limits at boot (OCPP 1.6 GetConfiguration,
    // 2.x GetVariables on SmartChargingCtrlr).
    this.client.handle('GetConfiguration', async () => ({
      configurationKey: [
        { key: 'ChargingScheduleMaxPeriods', readonly: true, value: '48' },
        { key: 'ChargingScheduleAllowedChargingRateUnit', readonly: true, value: 'Current,Power' },
        { key: 'ChargeProfileMaxStackLevel', readonly: true, value: '8' },
        { key: 'MaxChargingProfilesInstalled', readonly: true, value: '16' },
      ],
    }));
    this.client.handle('GetVariables', async ({ params }) => {
      const values: Record<string, string> = { PeriodsPerSchedule: '48', RateUnit: 'W,A', ProfileStackLevel: '8', Entries: '16', Available: 'true', Enabled: 'true' };
      const data = ((params ?? {}) as { getVariableData: { component: { name: string }; variable: { name: string } }[] }).getVariableData;
      return {
        getVariableResult: data.map((d) =>
          values[d.variable.name] !== undefined
            ? { attributeStatus: 'Accepted', attributeValue: values[d.variable.name], component: d.component, variable: d.variable }
            : { attributeStatus: 'UnknownVariable', component: d.component, variable: d.variable },
        ),
      };
    });
    this.client.handle('GetCompositeSchedule', async ({ params }) => this.composite((params ?? {}) as Obj));
  }

  /** The limit the station would apply over the next `duration` seconds, as GetCompositeSchedule asks. */
  private composite(p: Obj): Obj {
    // stations answer at whole-second resolution (startPeriod is in seconds)
    const now = Math.floor(Date.now() / 1000) * 1000;
    const duration = Number(p.duration);
    const evseId = Number(this.opts.version === '1.6' ? p.connectorId : p.evseId);
    const max = this.maxProfile();
    const tx = evseId > 0 ? this.profiles.get(`TxProfile/${evseId}`) : undefined;
    const relevant = [max, tx].filter((x): x is StoredProfile => x !== undefined);
    if (relevant.length === 0) return { status: 'Rejected' };
    const times = new Set<number>([now]);
    for (const prof of relevant) for (const per of prof.periods) {
      const at = prof.startMs + per.startPeriod * 1000;
      if (at > now && at < now + duration * 1000) times.add(at);
    }
    const periods: { startPeriod: number; limit: number }[] = [];
    for (const at of [...times].sort((a, b) => a - b)) {
      const kws = relevant.map((x) => this.limitKw(x, at)).filter((v): v is number => v !== undefined);
      if (kws.length === 0) continue;
      const limit = Math.floor(Math.min(...kws) * 10_000) / 10; // W, rounded down to 0.1 (1.6 multipleOf)
      if (periods.at(-1)?.limit === limit) continue;
      periods.push({ startPeriod: Math.round((at - now) / 1000), limit });
    }
    if (periods.length === 0) return { status: 'Rejected' };
    if (periods[0]!.startPeriod !== 0) periods[0]!.startPeriod = 0;
    const scheduleStart = new Date(now).toISOString();
    if (this.opts.version === '1.6') {
      return { status: 'Accepted', connectorId: evseId, scheduleStart, chargingSchedule: { duration, startSchedule: scheduleStart, chargingRateUnit: 'W', chargingSchedulePeriod: periods } };
    }
    return { status: 'Accepted', schedule: { evseId, duration, scheduleStart, chargingRateUnit: 'W', chargingSchedulePeriod: periods } };
  }

  get version(): OcppVersion {
    return this.opts.version;
  }

  async connect(): Promise<void> {
    await this.client.connect();
    if (this.opts.version !== '1.6') {
      await this.client.call('BootNotification', { reason: 'PowerUp', chargingStation: { model: 'SimCharger', vendorName: 'gridflex-demo' } });
      for (let e = 1; e <= this.opts.evseCount; e++) {
        await this.client.call('StatusNotification', { timestamp: new Date().toISOString(), connectorStatus: 'Available', evseId: e, connectorId: 1 });
      }
    } else {
      await this.client.call('BootNotification', { chargePointModel: 'SimCharger', chargePointVendor: 'gridflex-demo' });
      for (let c = 1; c <= this.opts.evseCount; c++) {
        await this.client.call('StatusNotification', { connectorId: c, errorCode: 'NoError', status: 'Available' });
      }
    }
  }

  isCharging(evseId: number): boolean {
    return this.tx.has(evseId);
  }

  transactionId(evseId: number): string | undefined {
    return this.tx.get(evseId)?.id;
  }

  /** Plugs in an EV; for 2.x optionally announces its ISO 15118 needs (with V2X on 2.1). */
  async startCharging(evseId: number, needs?: EvNeeds): Promise<string> {
    const now = new Date();
    if (needs?.v2x && this.opts.version !== '2.1') throw new Error(`SimStation ${this.opts.stationId}: V2X needs require OCPP 2.1`);
    if (this.opts.version !== '1.6') {
      const id = `${this.opts.stationId}-${evseId}-${++this.txCounter}`;
      this.tx.set(evseId, { id, importWh: 0, exportWh: 0, lastMs: now.getTime(), seq: 0, maxDischargeKw: needs?.v2x?.maxDischargeKw ?? 0 });
      await this.client.call('TransactionEvent', {
        eventType: 'Started', timestamp: now.toISOString(), triggerReason: 'CablePluggedIn', seqNo: 0,
        transactionInfo: { transactionId: id, chargingState: 'EVConnected' },
        evse: { id: evseId, connectorId: 1 }, idToken: { idToken: `EV${evseId}${this.txCounter}`, type: 'ISO14443' },
      });
      if (needs) await this.client.call('NotifyEVChargingNeeds', { evseId, chargingNeeds: this.chargingNeeds(needs) });
      return id;
    }
    const res = (await this.client.call('StartTransaction', { connectorId: evseId, idTag: `EV${evseId}`, meterStart: 0, timestamp: now.toISOString() })) as { transactionId: number };
    const id = String(res.transactionId);
    this.tx.set(evseId, { id, importWh: 0, exportWh: 0, lastMs: now.getTime(), seq: 0, maxDischargeKw: 0 });
    return id;
  }

  /**
   * The ChargingNeedsType of the EV. V2X (2.1, ISO 15118-20 BPT): powers in W, energies in Wh relative to
   * the SoC now, as the 2.1 V2XChargingParametersType defines them: evMinV2XEnergyRequest is negative when
   * the SoC is above the V2X minimum (what may be discharged), evMaxEnergyRequest the room to the maximum
   * SoC, evTargetEnergyRequest the energy wanted by departure.
   */
  private chargingNeeds(needs: EvNeeds): Obj {
    const evMaxW = Math.round((this.opts.evMaxKw ?? 11) * 1000);
    const base = { departureTime: needs.departure.toISOString() };
    if (!needs.v2x) {
      return { ...base, requestedEnergyTransfer: 'AC_three_phase', acChargingParameters: { energyAmount: Math.round(needs.energyKwh * 1000), evMinCurrent: 6, evMaxCurrent: 32, evMaxVoltage: 400 } };
    }
    const v = needs.v2x;
    return {
      ...base,
      requestedEnergyTransfer: 'AC_BPT',
      availableEnergyTransfer: ['AC_three_phase', 'AC_BPT'],
      controlMode: v.controlMode ?? 'ScheduledControl',
      mobilityNeedsMode: 'EVCC',
      v2xChargingParameters: {
        minChargePower: 4_140, // 6 A × 230 V × 3
        maxChargePower: evMaxW,
        maxDischargePower: Math.round(v.maxDischargeKw * 1000),
        evTargetEnergyRequest: Math.round(needs.energyKwh * 1000),
        evMinV2XEnergyRequest: -Math.round(v.aboveMinKwh * 1000),
        evMaxEnergyRequest: Math.round(Math.max(v.toMaxKwh, needs.energyKwh) * 1000),
      },
    };
  }

  async stopCharging(evseId: number): Promise<void> {
    const t = this.tx.get(evseId);
    if (!t) return;
    this.accumulate(evseId, Date.now());
    this.tx.delete(evseId);
    const ts = new Date().toISOString();
    if (this.opts.version !== '1.6') {
      await this.client.call('TransactionEvent', {
        eventType: 'Ended', timestamp: ts, triggerReason: 'EVDeparted', seqNo: t.seq + 1, transactionInfo: { transactionId: t.id, stoppedReason: 'EVDisconnected' },
        evse: { id: evseId, connectorId: 1 },
        meterValue: [{ timestamp: ts, sampledValue: this.energySamples(t) }],
      });
    } else {
      await this.client.call('StopTransaction', { transactionId: Number(t.id), meterStop: Math.round(t.importWh), timestamp: ts, reason: 'EVDisconnected' });
    }
    this.profiles.delete(`TxProfile/${evseId}`);
  }

  /** Power (kW) this EVSE may draw now under the profiles it holds (import only; see powerKw for V2X). */
  allowedKw(evseId: number, atMs = Date.now()): number {
    return Math.max(0, this.powerKw(evseId, atMs));
  }

  /**
   * Signed power (kW, import +, export −) the EVSE delivers at `atMs`: a CentralSetpoint period is followed
   * (OCPP 2.1: "Use negative values for discharging") within its `limit` and `dischargeLimit`, the EV's own
   * maxima and the station maximum; otherwise the EV charges as fast as the limits allow.
   */
  powerKw(evseId: number, atMs = Date.now()): number {
    const t = this.tx.get(evseId);
    if (!t) return 0;
    const evMax = this.opts.evMaxKw ?? 11;
    let kw = evMax;
    let floor = 0;
    // a TxProfile for the transaction wins; until it arrives (or once a Dynamic one expired) the
    // TxDefaultProfile applies (OCPP stacking)
    const tx = [`TxProfile/${evseId}`, `TxDefaultProfile/${evseId}`, 'TxDefaultProfile/0'].map((k) => this.profiles.get(k)).find((p) => p !== undefined && this.periodAt(p, atMs) !== undefined);
    const per = tx ? this.periodAt(tx, atMs) : undefined;
    if (tx && per) {
      const limit = per.limit === undefined ? undefined : this.toKw(tx, per.limit);
      if (limit !== undefined) kw = Math.min(kw, limit);
      if (per.setpoint !== undefined) {
        // CentralSetpoint: follow the setpoint; discharge only as far as the EV and dischargeLimit allow
        // (no dischargeLimit: the setpoint itself is the bound)
        floor = -Math.min(t.maxDischargeKw, per.dischargeLimit === undefined ? Infinity : -this.toKw(tx, per.dischargeLimit));
        kw = Math.min(kw, Math.max(floor, this.toKw(tx, per.setpoint)));
      }
    }
    const max = this.maxProfile();
    const maxPer = max ? this.periodAt(max, atMs) : undefined;
    if (max && maxPer) {
      const share = Math.max(1, this.tx.size);
      if (maxPer.limit !== undefined) kw = Math.min(kw, this.toKw(max, maxPer.limit) / share);
      // the station's dischargeLimit (≤ 0), shared like its import limit
      if (maxPer.dischargeLimit !== undefined) kw = Math.max(kw, this.toKw(max, maxPer.dischargeLimit) / share);
    }
    return Math.max(floor, kw);
  }

  /** The station-wide limit (kW) in force at `atMs`, if a max profile is held. */
  stationLimitKw(atMs = Date.now()): number | undefined {
    const max = this.maxProfile();
    return max ? this.limitKw(max, atMs) : undefined;
  }

  async sendMeterValues(): Promise<void> {
    const now = Date.now();
    for (const [evseId, t] of this.tx) {
      this.accumulate(evseId, now);
      const w = Math.round(this.powerKw(evseId, now) * 1000);
      const ts = new Date(now).toISOString();
      if (this.opts.version !== '1.6') {
        const setpointMode = this.opts.version === '2.1' && this.followsSetpoint(evseId, now);
        // Measurands are per direction (OCPP 2.x MeasurandEnumType): export as Power.Active.Export.
        const power = [{ value: Math.max(0, w), measurand: 'Power.Active.Import' }, ...(this.opts.version === '2.1' ? [{ value: Math.max(0, -w), measurand: 'Power.Active.Export' }] : [])];
        await this.client.call('TransactionEvent', {
          eventType: 'Updated', timestamp: ts, triggerReason: 'MeterValuePeriodic', seqNo: ++t.seq,
          transactionInfo: { transactionId: t.id, chargingState: w !== 0 ? 'Charging' : 'SuspendedEVSE', ...(setpointMode ? { operationMode: 'CentralSetpoint' } : {}) },
          evse: { id: evseId, connectorId: 1 },
          meterValue: [{ timestamp: ts, sampledValue: [...power, ...this.energySamples(t)] }],
        });
      } else {
        await this.client.call('MeterValues', {
          connectorId: evseId, transactionId: Number(t.id),
          meterValue: [{ timestamp: ts, sampledValue: [{ value: String(w), measurand: 'Power.Active.Import', unit: 'W' }, { value: String(Math.round(t.importWh)), measurand: 'Energy.Active.Import.Register', unit: 'Wh' }] }],
        });
      }
    }
  }

  async close(): Promise<void> {
    await this.client.close({ force: true }).catch(() => undefined);
  }

  /** Energy registers (Wh): import always; on 2.1 also the energy given back (Energy.Active.Export.Register). */
  private energySamples(t: Tx): { value: number; measurand: string }[] {
    const out = [{ value: Math.round(t.importWh), measurand: 'Energy.Active.Import.Register' }];
    if (this.opts.version === '2.1') out.push({ value: Math.round(t.exportWh), measurand: 'Energy.Active.Export.Register' });
    return out;
  }

  private followsSetpoint(evseId: number, atMs: number): boolean {
    const tx = this.profiles.get(`TxProfile/${evseId}`);
    return tx !== undefined && this.periodAt(tx, atMs)?.setpoint !== undefined;
  }

  private maxProfile(): StoredProfile | undefined {
    return this.profiles.get('ChargingStationMaxProfile/0') ?? this.profiles.get('ChargePointMaxProfile/0');
  }

  private accumulate(evseId: number, now: number): void {
    const t = this.tx.get(evseId);
    if (!t) return;
    const wh = (this.powerKw(evseId, t.lastMs) * 1000 * (now - t.lastMs)) / 3_600_000;
    if (wh >= 0) t.importWh += wh;
    else t.exportWh -= wh;
    t.lastMs = now;
  }

  /** The period in force at `atMs`; undefined before the first or after the profile's duration. */
  private periodAt(p: StoredProfile, atMs: number): Period | undefined {
    const elapsed = (atMs - p.startMs) / 1000;
    if (p.durationS !== undefined && elapsed >= p.durationS) return undefined;
    let cur: Period | undefined;
    for (const per of p.periods) if (per.startPeriod <= elapsed) cur = per;
    return cur;
  }

  private toKw(p: StoredProfile, value: number): number {
    if (p.unit === 'W') return value / 1000;
    return (value * (this.opts.voltage ?? 230) * (this.opts.phases ?? 3)) / 1000;
  }

  private limitKw(p: StoredProfile, atMs: number): number | undefined {
    const per = this.periodAt(p, atMs);
    return per?.limit === undefined ? undefined : this.toKw(p, per.limit);
  }

  private store(p: Obj): void {
    const v16 = this.opts.version === '1.6';
    const prof = (v16 ? p.csChargingProfiles : p.chargingProfile) as Obj | undefined;
    if (!prof) return;
    const purpose = String(prof.chargingProfilePurpose);
    const kind = String(prof.chargingProfileKind);
    const evseId = Number(v16 ? p.connectorId : p.evseId);
    const schedRaw = prof.chargingSchedule as Obj | Obj[];
    const sched = Array.isArray(schedRaw) ? schedRaw[0]! : schedRaw;
    // A Dynamic profile has no startSchedule: its single period holds from dynUpdateTime for `duration` s
    // (K28.FR.13 / .15: without an update it lapses and the stack below applies).
    const anchor = kind === 'Dynamic' ? prof.dynUpdateTime : sched.startSchedule;
    this.profiles.set(`${purpose}/${evseId}`, {
      id: Number(prof.id), purpose, kind, evseId, startMs: typeof anchor === 'string' ? Date.parse(anchor) : Date.now(),
      ...(kind === 'Dynamic' && typeof sched.duration === 'number' ? { durationS: sched.duration } : {}),
      unit: sched.chargingRateUnit === 'A' ? 'A' : 'W',
      periods: (sched.chargingSchedulePeriod as Period[]).map((x) => ({
        startPeriod: x.startPeriod, ...numField('limit', x.limit), ...numField('setpoint', x.setpoint), ...numField('dischargeLimit', x.dischargeLimit),
      })),
    });
  }
}

function numField<K extends string>(k: K, v: unknown): Partial<Record<K, number>> {
  return typeof v === 'number' ? ({ [k]: v } as Record<K, number>) : {};
}
