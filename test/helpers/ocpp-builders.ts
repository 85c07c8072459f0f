/**
 * Builders for OCPP messages a station sends (valid by default; override what a test is about) and
 * for the test topology: grid area → site → two stations (one per OCPP version) with two EVSEs each.
 */
import type { NodeInput } from '../../services/store/topology-store.ts';

export const AREA = 'ga-ocpp';
export const SITE = 'site-ocpp';
export const CS201 = 'CS 201'; // with a space: travels percent-encoded in the URL
export const CS16 = 'CS16';
export const PASSWORD_201 = 'correct-horse-battery-201';
export const PASSWORD_16 = 'correct-horse-battery-016';

export function ocppTopology(): NodeInput[] {
  return [
    { id: AREA, kind: 'grid_area', parentId: null, importLimitKw: 200 },
    { id: SITE, kind: 'site', parentId: AREA, importLimitKw: 100 },
    { id: CS201, kind: 'station', parentId: SITE, voltageV: 230, phases: 3 },
    { id: `${CS201}-1`, kind: 'evse', parentId: CS201, maxPowerKw: 22, ocppEvseId: 1 },
    { id: `${CS201}-2`, kind: 'evse', parentId: CS201, maxPowerKw: 22, ocppEvseId: 2 },
    { id: CS16, kind: 'station', parentId: SITE, voltageV: 230, phases: 3 },
    { id: `${CS16}-1`, kind: 'evse', parentId: CS16, maxPowerKw: 11, ocppEvseId: 1 },
    { id: `${CS16}-2`, kind: 'evse', parentId: CS16, maxPowerKw: 11, ocppEvseId: 2 },
  ];
}

type Obj = Record<string, unknown>;

export function aBootNotification201(over: Obj = {}): Obj {
  return { reason: 'PowerUp', chargingStation: { model: 'TestModel', vendorName: 'TestVendor', firmwareVersion: '1.2.3' }, ...over };
}

export function aTransactionEvent201(eventType: 'Started' | 'Updated' | 'Ended', over: Obj = {}): Obj {
  return {
    eventType,
    timestamp: new Date().toISOString(),
    triggerReason: eventType === 'Started' ? 'CablePluggedIn' : eventType === 'Ended' ? 'EVDeparted' : 'MeterValuePeriodic',
    seqNo: 0,
    transactionInfo: { transactionId: 'tx-201-a' },
    evse: { id: 1, connectorId: 1 },
    ...over,
  };
}

export function aMeterValue201(at: Date, powerW: number, energyWh: number): Obj {
  return {
    timestamp: at.toISOString(),
    sampledValue: [
      { value: powerW, measurand: 'Power.Active.Import', unitOfMeasure: { unit: 'W' } },
      { value: energyWh, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } },
    ],
  };
}

export function aMeterValue16(at: Date, powerW: number, energyWh: number): Obj {
  return {
    timestamp: at.toISOString(),
    sampledValue: [
      { value: String(powerW), measurand: 'Power.Active.Import', unit: 'W' },
      { value: String(energyWh), measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
    ],
  };
}
