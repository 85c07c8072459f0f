import assert from 'node:assert/strict';
import { readMeterValues16, readMeterValues201 } from '../../../grid-adapters/ocpp/meter-values.ts';
import { chargingNeedsToDemand } from '../../../grid-adapters/ocpp/charging-needs.ts';

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
