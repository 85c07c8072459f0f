import assert from 'node:assert/strict';
import { readMeterValues16, readMeterValues201 } from '../../../grid-adapters/ocpp/meter-values.ts';
import { chargingNeedsToDemand } from '../../../grid-adapters/ocpp/charging-needs.ts';
import type { MeterValue201 } from '../../../grid-adapters/ocpp/wire-201.ts';
import { assertValidOcpp } from '../../helpers/ocpp-schemas.ts';

const TS = '2026-11-23T12:00:00.000Z';
const MS = Date.parse(TS);

describe('OCPP meter values → readings', () => {
  it('1.6: string values, W and kW, default measurand is the energy register in Wh', () => {
    assert.deepEqual(
      readMeterValues16([{ timestamp: TS, sampledValue: [{ value: '7.4', measurand: 'Power.Active.Import', unit: 'kW' }, { value: '12345' }] }]),
      [{ timeMs: MS, powerKw: 7.4, energyWh: 12_345 }],
    );
    assert.deepEqual(readMeterValues16([{ timestamp: TS, sampledValue: [{ value: '3680', measurand: 'Power.Active.Import' }] }]), [{ timeMs: MS, powerKw: 3.68 }]);
    assert.deepEqual(readMeterValues16([{ timestamp: TS, sampledValue: [{ value: '12.5', unit: 'kWh' }] }]), [{ timeMs: MS, energyWh: 12_500 }]);
  });

  it('1.6: skips signed data, garbage, other measurands and non-grid locations', () => {
    const out = readMeterValues16([
      {
        timestamp: TS,
        sampledValue: [
          { value: 'AQIDBA==', format: 'SignedData', measurand: 'Power.Active.Import' },
          { value: 'n/a', measurand: 'Power.Active.Import' },
          { value: '', measurand: 'Power.Active.Import' },
          { value: '16', measurand: 'Current.Import', unit: 'A' },
          { value: '5000', measurand: 'Power.Active.Import', location: 'EV' },
        ],
      },
    ]);
    assert.deepEqual(out, []);
  });

  it('sums per-phase power when no total is given; a total wins over phases', () => {
    const phases = [
      { value: '2300', measurand: 'Power.Active.Import', phase: 'L1-N', unit: 'W' },
      { value: '2300', measurand: 'Power.Active.Import', phase: 'L2-N', unit: 'W' },
      { value: '2000', measurand: 'Power.Active.Import', phase: 'L3-N', unit: 'W' },
    ];
    assert.deepEqual(readMeterValues16([{ timestamp: TS, sampledValue: phases }]), [{ timeMs: MS, powerKw: 6.6 }]);
    assert.deepEqual(readMeterValues16([{ timestamp: TS, sampledValue: [...phases, { value: '7000', measurand: 'Power.Active.Import', unit: 'W' }] }]), [{ timeMs: MS, powerKw: 7 }]);
  });

  it('2.0.1: numbers with unitOfMeasure and multiplier; one reading per meter value', () => {
    const out = readMeterValues201([
      { timestamp: TS, sampledValue: [{ value: 11, measurand: 'Power.Active.Import', unitOfMeasure: { unit: 'W', multiplier: 3 } }, { value: 5, unitOfMeasure: { unit: 'kWh' } }] },
      { timestamp: '2026-11-23T12:01:00Z', sampledValue: [{ value: 7400, measurand: 'Power.Active.Import' }] },
    ]);
    assert.deepEqual(out, [
      { timeMs: MS, powerKw: 11, energyWh: 5_000 },
      { timeMs: MS + 60_000, powerKw: 7.4 },
    ]);
  });
});

describe('OCPP meter values → readings: export (V2X discharging)', () => {
  it('2.1 as the demo sim station sends it while discharging: net power negative, both registers', () => {
    // services/demo/sim-station.ts sendMeterValues on 2.1: no unitOfMeasure (W, Wh), both directions.
    const mv: MeterValue201 = {
      timestamp: TS,
      sampledValue: [
        { value: 0, measurand: 'Power.Active.Import' },
        { value: 9500, measurand: 'Power.Active.Export' },
        { value: 4200, measurand: 'Energy.Active.Import.Register' },
        { value: 1300, measurand: 'Energy.Active.Export.Register' },
      ],
    };
    assertValidOcpp('2.1', 'TransactionEvent', 'req', {
      eventType: 'Updated', timestamp: TS, triggerReason: 'MeterValuePeriodic', seqNo: 1,
      transactionInfo: { transactionId: 'tx-1', chargingState: 'Charging', operationMode: 'CentralSetpoint' },
      evse: { id: 1, connectorId: 1 }, meterValue: [mv],
    });
    assert.deepEqual(readMeterValues201([mv]), [{ timeMs: MS, powerKw: -9.5, energyWh: 4200, exportEnergyWh: 1300 }]);
  });

  it('2.1 sim station while charging: export 0 keeps the import power', () => {
    const mv: MeterValue201 = {
      timestamp: TS,
      sampledValue: [
        { value: 7400, measurand: 'Power.Active.Import' },
        { value: 0, measurand: 'Power.Active.Export' },
        { value: 4200, measurand: 'Energy.Active.Import.Register' },
        { value: 1300, measurand: 'Energy.Active.Export.Register' },
      ],
    };
    assert.deepEqual(readMeterValues201([mv]), [{ timeMs: MS, powerKw: 7.4, energyWh: 4200, exportEnergyWh: 1300 }]);
  });

  it('export alone: net power is minus the export; the export register alone is a reading', () => {
    assert.deepEqual(readMeterValues201([{ timestamp: TS, sampledValue: [{ value: 11, measurand: 'Power.Active.Export', unitOfMeasure: { unit: 'kW' } }] }]), [{ timeMs: MS, powerKw: -11 }]);
    assert.deepEqual(readMeterValues201([{ timestamp: TS, sampledValue: [{ value: 2.5, measurand: 'Energy.Active.Export.Register', unitOfMeasure: { unit: 'kWh' } }] }]), [{ timeMs: MS, exportEnergyWh: 2500 }]);
  });

  it('export units and multiplier: W, kW, Wh, kWh, 10^m; unknown units are ignored', () => {
    const out = readMeterValues201([
      {
        timestamp: TS,
        sampledValue: [
          { value: 3.7, measurand: 'Power.Active.Export', unitOfMeasure: { unit: 'W', multiplier: 3 } },
          { value: 12, measurand: 'Energy.Active.Export.Register', unitOfMeasure: { unit: 'Wh', multiplier: 3 } },
          { value: 99, measurand: 'Power.Active.Export', phase: 'L1', unitOfMeasure: { unit: 'var' } },
        ],
      },
    ]);
    assert.deepEqual(out, [{ timeMs: MS, powerKw: -3.7, exportEnergyWh: 12_000 }]);
  });

  it('sums per-phase export power; a phase-less total wins; import and export net per direction', () => {
    const exportPhases = [
      { value: 3000, measurand: 'Power.Active.Export', phase: 'L1', unitOfMeasure: { unit: 'W' } },
      { value: 3000, measurand: 'Power.Active.Export', phase: 'L2', unitOfMeasure: { unit: 'W' } },
      { value: 2500, measurand: 'Power.Active.Export', phase: 'L3', unitOfMeasure: { unit: 'W' } },
    ];
    assert.deepEqual(readMeterValues201([{ timestamp: TS, sampledValue: exportPhases }]), [{ timeMs: MS, powerKw: -8.5 }]);
    assert.deepEqual(
      readMeterValues201([{ timestamp: TS, sampledValue: [...exportPhases, { value: 9000, measurand: 'Power.Active.Export', unitOfMeasure: { unit: 'W' } }] }]),
      [{ timeMs: MS, powerKw: -9 }],
    );
    // Per-phase import on L1 and export on L2/L3 (a phase-balancing station): net = 1 − 5.5 kW.
    assert.deepEqual(
      readMeterValues201([{ timestamp: TS, sampledValue: [{ value: 1000, measurand: 'Power.Active.Import', phase: 'L1' }, ...exportPhases.slice(1)] }]),
      [{ timeMs: MS, powerKw: -4.5 }],
    );
  });

  it('export at the EV, cable or body is not grid power and is ignored', () => {
    assert.deepEqual(readMeterValues201([{ timestamp: TS, sampledValue: [{ value: 9000, measurand: 'Power.Active.Export', location: 'EV' }, { value: 100, measurand: 'Energy.Active.Export.Register', location: 'Cable' }] }]), []);
    assert.deepEqual(readMeterValues201([{ timestamp: TS, sampledValue: [{ value: 9000, measurand: 'Power.Active.Export', location: 'Inlet' }] }]), [{ timeMs: MS, powerKw: -9 }]);
  });

  it('1.6 reads export too: string values, kW and kWh, per phase', () => {
    const out = readMeterValues16([
      {
        timestamp: TS,
        sampledValue: [
          { value: '2.2', measurand: 'Power.Active.Export', phase: 'L1-N', unit: 'kW' },
          { value: '2.2', measurand: 'Power.Active.Export', phase: 'L2-N', unit: 'kW' },
          { value: '1.5', measurand: 'Energy.Active.Export.Register', unit: 'kWh' },
          { value: '10000' },
        ],
      },
    ]);
    assert.deepEqual(out, [{ timeMs: MS, powerKw: -4.4, energyWh: 10_000, exportEnergyWh: 1500 }]);
  });
});

describe('OCPP 2.0.1 charging needs → demand', () => {
  it('AC: energy in kWh, power from current × EVSE voltage × phases in use, departure', () => {
    const d = chargingNeedsToDemand(
      { requestedEnergyTransfer: 'AC_single_phase', departureTime: TS, acChargingParameters: { energyAmount: 20_000, evMinCurrent: 6, evMaxCurrent: 32, evMaxVoltage: 400 } },
      { voltageV: 230, phases: 3 },
    );
    assert.deepEqual(d, { departureMs: MS, energyKwh: 20, maxPowerKw: 7.36, minPowerKw: 1.38 });
    // Three-phase request on a one-phase EVSE: only one phase is wired.
    assert.equal(chargingNeedsToDemand({ requestedEnergyTransfer: 'AC_three_phase', acChargingParameters: { energyAmount: 0, evMinCurrent: 0, evMaxCurrent: 16, evMaxVoltage: 230 } }, { phases: 1 }).maxPowerKw, 3.68);
  });

  it('DC: evMaxPower, else current × voltage; energy from energyAmount, else capacity and state of charge', () => {
    assert.deepEqual(chargingNeedsToDemand({ requestedEnergyTransfer: 'DC', dcChargingParameters: { evMaxCurrent: 200, evMaxVoltage: 400, evMaxPower: 50_000, energyAmount: 30_000 } }), { maxPowerKw: 50, energyKwh: 30 });
    assert.deepEqual(chargingNeedsToDemand({ requestedEnergyTransfer: 'DC', dcChargingParameters: { evMaxCurrent: 100, evMaxVoltage: 400, evEnergyCapacity: 60_000, stateOfCharge: 30, fullSoC: 80 } }), { maxPowerKw: 40, energyKwh: 30 });
    assert.deepEqual(chargingNeedsToDemand({ requestedEnergyTransfer: 'DC' }), {});
  });
});
