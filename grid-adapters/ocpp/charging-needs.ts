/**
 * OCPP 2.0.1 / 2.1 NotifyEVChargingNeeds (ISO 15118 charge parameter discovery, use cases K15, and 2.1
 * K18/K19 for ISO 15118-20) → the fields of a charging demand in the canonical model. Pure.
 *
 * Units: energy in kWh, power in kW (positive = import), times as epoch ms.
 *
 * OCPP 2.1 V2X (v2xChargingParameters, ISO 15118-20 BPT) → ChargingDemand.v2g, see `v2xToDemand`.
 * Sign conversion at this edge: OCPP reports discharge power as a magnitude in W (maxDischargePower
 * "Value >= 0") and the V2X energy requests as signed Wh relative to the SoC now; gridflex keeps
 * maxDischargeKw as a magnitude (model.ts: "a magnitude") and turns the relative energies into SoC levels
 * >= 0 in a frame of its own (below), so only units change for power and only the origin for energy.
 */
import { DEFAULT_PHASES, DEFAULT_VOLTAGE_V } from './schedule.ts';
import type { ChargingNeeds201 } from './wire-201.ts';

/** OCPP 2.1 V2XChargingParametersType, the fields gridflex reads (W and Wh as on the wire). */
export interface V2xChargingParameters21 {
  minChargePower?: number;
  minChargePower_L2?: number;
  minChargePower_L3?: number;
  maxChargePower?: number;
  maxChargePower_L2?: number;
  maxChargePower_L3?: number;
  maxDischargePower?: number;
  maxDischargePower_L2?: number;
  maxDischargePower_L3?: number;
  evTargetEnergyRequest?: number;
  evMinEnergyRequest?: number;
  evMaxEnergyRequest?: number;
  evMinV2XEnergyRequest?: number;
  evMaxV2XEnergyRequest?: number;
  targetSoC?: number;
}

export type EnergyTransferMode21 = ChargingNeeds201['requestedEnergyTransfer'] | 'AC_BPT' | 'AC_BPT_DER' | 'AC_DER' | 'DC_BPT' | 'DC_ACDP' | 'DC_ACDP_BPT' | 'WPT';

/** OCPP 2.1 ChargingNeedsType: 2.0.1's fields plus the V2X ones gridflex reads. */
export interface ChargingNeeds21 extends Omit<ChargingNeeds201, 'requestedEnergyTransfer'> {
  requestedEnergyTransfer: EnergyTransferMode21;
  availableEnergyTransfer?: EnergyTransferMode21[];
  v2xChargingParameters?: V2xChargingParameters21;
  controlMode?: 'ScheduledControl' | 'DynamicControl';
  mobilityNeedsMode?: 'EVCC' | 'EVCC_SECC';
}

/** What gridflex keeps of an EV's V2X ability (kW / kWh, all >= 0; the optimizer's V2gState). */
export interface V2xDemand {
  maxDischargeKw: number;
  minSocKwh: number;
  socKwh: number;
  capacityKwh: number;
}

/**
 * Bidirectional power transfer modes (ISO 15118-20 BPT services). The EV can only select a service the
 * EVSE offered in ServiceDiscovery, so a BPT mode in requestedEnergyTransfer also says the EVSE itself
 * can discharge.
 */
export const BPT_MODES: ReadonlySet<EnergyTransferMode21> = new Set(['AC_BPT', 'AC_BPT_DER', 'DC_BPT', 'DC_ACDP_BPT']);

export interface DemandUpdate {
  departureMs?: number;
  /** OCPP 2.1 V2X: present only when the EV and EVSE may discharge (see v2xToDemand). */
  v2x?: V2xDemand;
  controlMode?: 'ScheduledControl' | 'DynamicControl';
  mobilityNeedsMode?: 'EVCC' | 'EVCC_SECC';
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

export function chargingNeedsToDemand(needs: ChargingNeeds201 | ChargingNeeds21, supply: SupplyPoint = {}): DemandUpdate {
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
    const known = [phasesOf(needs.requestedEnergyTransfer as ChargingNeeds201['requestedEnergyTransfer']), supply.phases ?? undefined].filter((p): p is number => p !== undefined);
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
  if ('v2xChargingParameters' in needs || 'controlMode' in needs || 'mobilityNeedsMode' in needs) Object.assign(out, v2xToDemand(needs as ChargingNeeds21));
  if (out.maxPowerKw !== undefined && out.minPowerKw !== undefined && out.minPowerKw > out.maxPowerKw) delete out.minPowerKw;
  return out;
}

/** The sum over phases: `total` is L1 alone when L2/L3 are given (2.1 V2XChargingParametersType). */
function allPhasesW(total: number | undefined, l2: number | undefined, l3: number | undefined): number | undefined {
  if (total === undefined) return undefined;
  return l2 === undefined && l3 === undefined ? total : total + (l2 ?? 0) + (l3 ?? 0);
}

/**
 * OCPP 2.1 v2xChargingParameters (ISO 15118-20) → demand fields:
 * - maxPowerKw / minPowerKw = maxChargePower / minChargePower (W, all phases) / 1000;
 * - energyKwh = evTargetEnergyRequest (Wh to the requested SoC; negative = above it → 0) / 1000; when
 *   absent the AC/DC parameters (if any) keep their say;
 * - v2x, only when the transfer mode is bidirectional (BPT_MODES) and maxDischargePower > 0:
 *   every 15118-20 energy request is relative to the SoC now (Wh), the EV does not tell its capacity in
 *   absolute terms. gridflex anchors a frame at the lower of the SoC now and the V2X minimum, so:
 *     socKwh      = max(0, −evMinV2XEnergyRequest)      (SoC now above the V2X minimum)
 *     minSocKwh   = max(0,  evMinV2XEnergyRequest)      ("positive: SoC below the V2X range": no discharge
 *                                                       until charged above it)
 *     capacityKwh = socKwh + max(0, evMaxEnergyRequest) (the EV's maximum SoC: never charged beyond it;
 *                   falling back to evMaxV2XEnergyRequest, then evTargetEnergyRequest)
 *     maxDischargeKw = maxDischargePower (W, a magnitude >= 0) / 1000
 *   Without evMinV2XEnergyRequest the floor falls back to evMinEnergyRequest (energy to the minimum
 *   allowed SoC), else the SoC now (no discharge below where the EV is: the safe reading).
 * - controlMode / mobilityNeedsMode are passed through (they decide the profile kind, dispatch-plan.ts).
 */
export function v2xToDemand(needs: ChargingNeeds21): DemandUpdate {
  const out: DemandUpdate = {};
  if (needs.controlMode) out.controlMode = needs.controlMode;
  if (needs.mobilityNeedsMode) out.mobilityNeedsMode = needs.mobilityNeedsMode;
  const v = needs.v2xChargingParameters;
  if (!v) return out;
  const maxChargeW = allPhasesW(v.maxChargePower, v.maxChargePower_L2, v.maxChargePower_L3);
  const minChargeW = allPhasesW(v.minChargePower, v.minChargePower_L2, v.minChargePower_L3);
  const maxDischargeW = allPhasesW(v.maxDischargePower, v.maxDischargePower_L2, v.maxDischargePower_L3);
  if (maxChargeW !== undefined) out.maxPowerKw = Math.max(0, maxChargeW) / 1000;
  if (minChargeW !== undefined && minChargeW > 0) out.minPowerKw = minChargeW / 1000;
  if (v.evTargetEnergyRequest !== undefined) out.energyKwh = Math.max(0, v.evTargetEnergyRequest) / 1000;
  if (!BPT_MODES.has(needs.requestedEnergyTransfer) || maxDischargeW === undefined || !(maxDischargeW > 0)) return out;
  const toFloorWh = v.evMinV2XEnergyRequest ?? v.evMinEnergyRequest ?? 0;
  const toCeilingWh = v.evMaxEnergyRequest ?? v.evMaxV2XEnergyRequest ?? v.evTargetEnergyRequest ?? 0;
  const socKwh = Math.max(0, -toFloorWh) / 1000;
  out.v2x = {
    maxDischargeKw: maxDischargeW / 1000,
    minSocKwh: Math.max(0, toFloorWh) / 1000,
    socKwh,
    capacityKwh: socKwh + Math.max(0, toCeilingWh) / 1000,
  };
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
