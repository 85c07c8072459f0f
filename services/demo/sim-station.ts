import { RPCClient } from 'ocpp-rpc';

/**
 * A simulated charge point: a real OCPP-J WebSocket client (ocpp-rpc in strict mode, so every message
 * it sends and receives is checked against the official schemas), independent of the CSMS code.
 * It keeps the charging profiles it receives and draws the power they allow.
 */
export type OcppVersion = '1.6' | '2.0.1';

interface Period {
  startPeriod: number;
  limit: number;
}
interface StoredProfile {
  purpose: string;
  evseId: number;
  startMs: number;
  unit: 'W' | 'A';
  periods: Period[];
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

export class SimStation {
  readonly client: RPCClient;
  readonly profiles = new Map<string, StoredProfile>();
  /** Every SetChargingProfile payload received, newest last. */
  readonly received: { at: number; payload: Record<string, unknown> }[] = [];
  private readonly tx = new Map<number, { id: string; energyWh: number; lastMs: number; seq: number }>();
  private txCounter = 0;

  constructor(readonly opts: SimStationOptions) {
    const options: Partial<ClientOptions> = {
      endpoint: opts.url,
      identity: opts.stationId,
      password: opts.password,
      protocols: [opts.version === '1.6' ? 'ocpp1.6' : 'ocpp2.0.1'],
      strictMode: true,
      reconnect: true,
      callTimeoutMs: 15_000,
    };
    this.client = new RPCClient(options as ClientOptions);
    this.client.handle('SetChargingProfile', async ({ params }) => {
      const p = (params ?? {}) as Record<string, unknown>;
      this.received.push({ at: Date.now(), payload: p });
      this.store(p);
      return { status: 'Accepted' };
    });
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
    this.client.handle('GetCompositeSchedule', async ({ params }) => this.composite((params ?? {}) as Record<string, unknown>));
  }

  /** The limit the station would apply over the next `duration` seconds, as GetCompositeSchedule asks. */
  private composite(p: Record<string, unknown>): Record<string, unknown> {
    // stations answer at whole-second resolution (startPeriod is in seconds)
    const now = Math.floor(Date.now() / 1000) * 1000;
    const duration = Number(p.duration);
    const evseId = Number(this.opts.version === '1.6' ? p.connectorId : p.evseId);
    const max = this.profiles.get('ChargingStationMaxProfile/0') ?? this.profiles.get('ChargePointMaxProfile/0');
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
    if (this.opts.version === '2.0.1') {
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

  /** Plugs in an EV; for 2.0.1 optionally announces its ISO 15118 needs. */
  async startCharging(evseId: number, needs?: { energyKwh: number; departure: Date }): Promise<string> {
    const now = new Date();
    if (this.opts.version === '2.0.1') {
      const id = `${this.opts.stationId}-${evseId}-${++this.txCounter}`;
      this.tx.set(evseId, { id, energyWh: 0, lastMs: now.getTime(), seq: 0 });
      await this.client.call('TransactionEvent', {
        eventType: 'Started', timestamp: now.toISOString(), triggerReason: 'CablePluggedIn', seqNo: 0,
        transactionInfo: { transactionId: id, chargingState: 'EVConnected' },
        evse: { id: evseId, connectorId: 1 }, idToken: { idToken: `EV${evseId}${this.txCounter}`, type: 'ISO14443' },
      });
      if (needs) {
        await this.client.call('NotifyEVChargingNeeds', {
          evseId,
          chargingNeeds: {
            requestedEnergyTransfer: 'AC_three_phase',
            departureTime: needs.departure.toISOString(),
            acChargingParameters: { energyAmount: Math.round(needs.energyKwh * 1000), evMinCurrent: 6, evMaxCurrent: 32, evMaxVoltage: 400 },
          },
        });
      }
      return id;
    }
    const res = (await this.client.call('StartTransaction', { connectorId: evseId, idTag: `EV${evseId}`, meterStart: 0, timestamp: now.toISOString() })) as { transactionId: number };
    const id = String(res.transactionId);
    this.tx.set(evseId, { id, energyWh: 0, lastMs: now.getTime(), seq: 0 });
    return id;
  }

  async stopCharging(evseId: number): Promise<void> {
    const t = this.tx.get(evseId);
    if (!t) return;
    this.accumulate(evseId, Date.now());
    this.tx.delete(evseId);
    const ts = new Date().toISOString();
    if (this.opts.version === '2.0.1') {
      await this.client.call('TransactionEvent', {
        eventType: 'Ended', timestamp: ts, triggerReason: 'EVDeparted', seqNo: t.seq + 1, transactionInfo: { transactionId: t.id, stoppedReason: 'EVDisconnected' },
        evse: { id: evseId, connectorId: 1 },
        meterValue: [{ timestamp: ts, sampledValue: [{ value: Math.round(t.energyWh), measurand: 'Energy.Active.Import.Register' }] }],
      });
    } else {
      await this.client.call('StopTransaction', { transactionId: Number(t.id), meterStop: Math.round(t.energyWh), timestamp: ts, reason: 'EVDisconnected' });
    }
    this.profiles.delete(`TxProfile/${evseId}`);
  }

  /** Power (kW) this EVSE may draw now under the profiles it holds. */
  allowedKw(evseId: number, atMs = Date.now()): number {
    const evMax = this.opts.evMaxKw ?? 11;
    if (!this.tx.has(evseId)) return 0;
    let kw = evMax;
    // a TxProfile for the transaction wins; until it arrives the TxDefaultProfile applies (OCPP stacking)
    const tx = this.profiles.get(`TxProfile/${evseId}`) ?? this.profiles.get(`TxDefaultProfile/${evseId}`) ?? this.profiles.get('TxDefaultProfile/0');
    if (tx) kw = Math.min(kw, this.limitKw(tx, atMs) ?? kw);
    const max = this.profiles.get('ChargingStationMaxProfile/0') ?? this.profiles.get('ChargePointMaxProfile/0');
    if (max) {
      const stationKw = this.limitKw(max, atMs);
      if (stationKw !== undefined) kw = Math.min(kw, stationKw / Math.max(1, this.tx.size));
    }
    return Math.max(0, kw);
  }

  /** The station-wide limit (kW) in force at `atMs`, if a max profile is held. */
  stationLimitKw(atMs = Date.now()): number | undefined {
    const max = this.profiles.get('ChargingStationMaxProfile/0') ?? this.profiles.get('ChargePointMaxProfile/0');
    return max ? this.limitKw(max, atMs) : undefined;
  }

  async sendMeterValues(): Promise<void> {
    const now = Date.now();
    for (const [evseId, t] of this.tx) {
      this.accumulate(evseId, now);
      const w = Math.round(this.allowedKw(evseId, now) * 1000);
      const ts = new Date(now).toISOString();
      if (this.opts.version === '2.0.1') {
        await this.client.call('TransactionEvent', {
          eventType: 'Updated', timestamp: ts, triggerReason: 'MeterValuePeriodic', seqNo: ++t.seq,
          transactionInfo: { transactionId: t.id, chargingState: w > 0 ? 'Charging' : 'SuspendedEVSE' }, evse: { id: evseId, connectorId: 1 },
          meterValue: [{ timestamp: ts, sampledValue: [{ value: w, measurand: 'Power.Active.Import' }, { value: Math.round(t.energyWh), measurand: 'Energy.Active.Import.Register' }] }],
        });
      } else {
        await this.client.call('MeterValues', {
          connectorId: evseId, transactionId: Number(t.id),
          meterValue: [{ timestamp: ts, sampledValue: [{ value: String(w), measurand: 'Power.Active.Import', unit: 'W' }, { value: String(Math.round(t.energyWh)), measurand: 'Energy.Active.Import.Register', unit: 'Wh' }] }],
        });
      }
    }
  }

  async close(): Promise<void> {
    await this.client.close({ force: true }).catch(() => undefined);
  }

  private accumulate(evseId: number, now: number): void {
    const t = this.tx.get(evseId);
    if (!t) return;
    t.energyWh += (this.allowedKw(evseId, t.lastMs) * 1000 * (now - t.lastMs)) / 3_600_000;
    t.lastMs = now;
  }

  private limitKw(p: StoredProfile, atMs: number): number | undefined {
    const elapsed = (atMs - p.startMs) / 1000;
    let cur: Period | undefined;
    for (const per of p.periods) if (per.startPeriod <= elapsed) cur = per;
    if (!cur) return undefined;
    if (p.unit === 'W') return cur.limit / 1000;
    return (cur.limit * (this.opts.voltage ?? 230) * (this.opts.phases ?? 3)) / 1000;
  }

  private store(p: Record<string, unknown>): void {
    const v16 = this.opts.version === '1.6';
    const prof = (v16 ? p.csChargingProfiles : p.chargingProfile) as Record<string, unknown> | undefined;
    if (!prof) return;
    const purpose = String(prof.chargingProfilePurpose);
    const evseId = Number(v16 ? p.connectorId : p.evseId);
    const schedRaw = prof.chargingSchedule as Record<string, unknown> | Record<string, unknown>[];
    const sched = Array.isArray(schedRaw) ? schedRaw[0]! : schedRaw;
    const startSchedule = String(sched.startSchedule ?? new Date().toISOString());
    this.profiles.set(`${purpose}/${evseId}`, {
      purpose, evseId, startMs: Date.parse(startSchedule), unit: sched.chargingRateUnit === 'A' ? 'A' : 'W',
      periods: (sched.chargingSchedulePeriod as Period[]).map((x) => ({ startPeriod: x.startPeriod, limit: x.limit })),
    });
  }
}
