/**
 * OCPP 2.0.1 NotifyEVChargingNeeds (ISO 15118 charge parameter discovery, use case K15) → the fields of
 * a charging demand in the canonical model. Pure.
 *
 * Units: energy in kWh, power in kW (positive = import), times as epoch ms.
 */
import { DEFAULT_PHASES, DEFAULT_VOLTAGE_V } from './schedule.ts';
import type { ChargingNeeds201 } from './wire-201.ts';

export interface DemandUpdate {
  departureMs?: number;
  /** Energy the EV still asks for at the time of the request (kWh). */
  energyKwh?: number;
  maxPowerKw?: number;
  minPowerKw?: number;
}

export interface SupplyPoint {
  /** Phase-to-neutral voltage of the EVSE (V), when the topology knows it. */
  voltageV?: number | null;
  /** Phases wired to the EVSE, when the topology knows it. */
  phases?: number | null;
}

export function chargingNeedsToDemand(needs: ChargingNeeds201, supply: SupplyPoint = {}): DemandUpdate {
  const out: DemandUpdate = {};
  if (needs.departureTime !== undefined) {
    const ms = Date.parse(needs.departureTime);
    if (Number.isFinite(ms)) out.departureMs = ms;
  }
  const ac = needs.acChargingParameters;
  const dc = needs.dcChargingParameters;
  if (ac) {
    // AC: evMaxCurrent / evMinCurrent are per phase. The EV's evMaxVoltage is its own rating, not the
    // grid's, so power uses the EVSE's phase voltage and phase count (defaults: 230 V, 3 phases). The
    // requested transfer mode names the phases the EV will use; it cannot use more than are wired.
    const v = supply.voltageV ?? DEFAULT_VOLTAGE_V;
    const known = [phasesOf(needs.requestedEnergyTransfer), supply.phases ?? undefined].filter((p): p is number => p !== undefined);
    const phases = known.length > 0 ? Math.min(...known) : DEFAULT_PHASES;
    out.energyKwh = Math.max(0, ac.energyAmount) / 1000;
    out.maxPowerKw = (Math.max(0, ac.evMaxCurrent) * v * phases) / 1000;
    if (ac.evMinCurrent > 0) out.minPowerKw = (ac.evMinCurrent * v * phases) / 1000;
  } else if (dc) {
    out.maxPowerKw = (dc.evMaxPower ?? dc.evMaxCurrent * dc.evMaxVoltage) / 1000;
    if (dc.energyAmount !== undefined) {
      out.energyKwh = Math.max(0, dc.energyAmount) / 1000;
    } else if (dc.evEnergyCapacity !== undefined && dc.stateOfCharge !== undefined) {
      // No energy amount: derive it from capacity (Wh) and state of charge up to fullSoC (default 100 %).
      const target = dc.fullSoC ?? 100;
      out.energyKwh = Math.max(0, (dc.evEnergyCapacity * (target - dc.stateOfCharge)) / 100) / 1000;
    }
  }
  if (out.maxPowerKw !== undefined && out.minPowerKw !== undefined && out.minPowerKw > out.maxPowerKw) delete out.minPowerKw;
  return out;
}

function phasesOf(mode: ChargingNeeds201['requestedEnergyTransfer']): number | undefined {
  switch (mode) {
    case 'AC_single_phase':
      return 1;
    case 'AC_two_phase':
      return 2;
    case 'AC_three_phase':
      return 3;
    default:
      return undefined;
  }
}
