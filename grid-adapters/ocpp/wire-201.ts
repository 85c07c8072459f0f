/**
 * OCPP 2.0.1 messages from a Charging Station to the CSMS, as far as gridflex reads them.
 *
 * These are types only: every inbound CALL is validated against the official OCPP 2.0.1 JSON schema
 * (bundled with ocpp-rpc, strict mode) before a handler sees it, so handlers may rely on them. Fields
 * we do not read are left out on purpose; the schema stays the one definition of the message.
 */

export interface SampledValue201 {
  value: number;
  context?: string;
  measurand?: string;
  phase?: string;
  location?: string;
  unitOfMeasure?: { unit?: string; multiplier?: number };
}

export interface MeterValue201 {
  timestamp: string;
  sampledValue: SampledValue201[];
}

export interface IdToken201 {
  idToken: string;
  type: string;
}

export interface BootNotification201 {
  reason: string;
  chargingStation: { model: string; vendorName: string; firmwareVersion?: string; serialNumber?: string };
}

export interface StatusNotification201 {
  timestamp: string;
  connectorStatus: 'Available' | 'Occupied' | 'Reserved' | 'Unavailable' | 'Faulted';
  evseId: number;
  connectorId: number;
}

export interface Authorize201 {
  idToken: IdToken201;
}

export interface TransactionEvent201 {
  eventType: 'Started' | 'Updated' | 'Ended';
  timestamp: string;
  triggerReason: string;
  seqNo: number;
  offline?: boolean;
  transactionInfo: { transactionId: string; chargingState?: string; stoppedReason?: string };
  evse?: { id: number; connectorId?: number };
  idToken?: IdToken201;
  meterValue?: MeterValue201[];
}

export interface ACChargingParameters201 {
  energyAmount: number;
  evMinCurrent: number;
  evMaxCurrent: number;
  evMaxVoltage: number;
}

export interface DCChargingParameters201 {
  evMaxCurrent: number;
  evMaxVoltage: number;
  energyAmount?: number;
  evMaxPower?: number;
  stateOfCharge?: number;
  evEnergyCapacity?: number;
  fullSoC?: number;
  bulkSoC?: number;
}

export interface ChargingNeeds201 {
  requestedEnergyTransfer: 'DC' | 'AC_single_phase' | 'AC_two_phase' | 'AC_three_phase';
  departureTime?: string;
  acChargingParameters?: ACChargingParameters201;
  dcChargingParameters?: DCChargingParameters201;
}

export interface NotifyEVChargingNeeds201 {
  evseId: number;
  maxScheduleTuples?: number;
  chargingNeeds: ChargingNeeds201;
}

export interface MeterValues201 {
  evseId: number;
  meterValue: MeterValue201[];
}
