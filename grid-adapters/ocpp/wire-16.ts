/**
 * OCPP 1.6J messages from a Charge Point to the Central System, as far as gridflex reads them.
 *
 * Types only: every inbound CALL is validated against the official OCPP 1.6 JSON schema (bundled with
 * ocpp-rpc, strict mode) before a handler sees it. Fields we do not read are left out on purpose.
 */

export interface SampledValue16 {
  /** 1.6 sends the value as a string. */
  value: string;
  context?: string;
  format?: 'Raw' | 'SignedData';
  measurand?: string;
  phase?: string;
  location?: string;
  unit?: string;
}

export interface MeterValue16 {
  timestamp: string;
  sampledValue: SampledValue16[];
}

export interface BootNotification16 {
  chargePointVendor: string;
  chargePointModel: string;
  chargePointSerialNumber?: string;
  firmwareVersion?: string;
}

export interface StatusNotification16 {
  connectorId: number;
  errorCode: string;
  status: string;
  timestamp?: string;
  info?: string;
}

export interface Authorize16 {
  idTag: string;
}

export interface StartTransaction16 {
  connectorId: number;
  idTag: string;
  /** Wh */
  meterStart: number;
  timestamp: string;
  reservationId?: number;
}

export interface StopTransaction16 {
  transactionId: number;
  /** Wh */
  meterStop: number;
  timestamp: string;
  idTag?: string;
  reason?: string;
  transactionData?: MeterValue16[];
}

export interface MeterValues16 {
  connectorId: number;
  transactionId?: number;
  meterValue: MeterValue16[];
}
