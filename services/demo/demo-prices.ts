import { alignToInterval } from '../../optimizer/model.ts';

/**
 * The demo's price signal, published the way an aggregator would: through gridflex's own OpenADR 3 VTN.
 * An admin-created business-logic client gets a token (client credentials), creates a PRICE program bound
 * to the grid area (the GRIDFLEX_NODE attribute, docs/openadr.md §3) and one looping two-tariff event.
 * gridflex turns the event into `price` signals for the area (openadrPriceSource), which the optimizer
 * uses to time charging and to plan V2G discharge where the spread pays (docs/optimizer.md "V2G and export").
 * Only public HTTP APIs are used: admin API for the client, OpenADR for the rest.
 */
export interface TwoTariff {
  /** Peak price (currency/kWh) and how long the peak lasts. */
  peakPrice: number;
  peakHours: number;
  /** Off-peak price (currency/kWh) and its length; peak + off-peak repeat for ever (event duration P9999Y). */
  offPeakPrice: number;
  offPeakHours: number;
  currency: string;
}

export const DEMO_TARIFF: TwoTariff = { peakPrice: 0.42, peakHours: 1, offPeakPrice: 0.12, offPeakHours: 3, currency: 'EUR' };

export interface PublishedPrices {
  clientId: string;
  programId: string;
  eventId: string;
  /** Epoch ms of the first peak's start (the current interval start). */
  startMs: number;
}

export async function publishTwoTariffPrices(baseUrl: string, adminToken: string, nodeId: string, tariff: TwoTariff = DEMO_TARIFF, nowMs = Date.now()): Promise<PublishedPrices> {
  const admin = await call<{ clientId: string; clientSecret: string }>(`${baseUrl}/api/v1/openadr/clients`, 'POST', adminToken, { name: `Demo aggregator (prices for ${nodeId})`, role: 'bl' });
  const tokenRes = await fetch(`${baseUrl}/openadr/3.1.0/auth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: admin.clientId, client_secret: admin.clientSecret }),
  });
  if (!tokenRes.ok) throw new Error(`demo prices: token → ${tokenRes.status} ${await tokenRes.text()}`);
  const token = ((await tokenRes.json()) as { access_token: string }).access_token;
  const vtn = `${baseUrl}/openadr/3.1.0`;
  const program = await call<{ id: string }>(`${vtn}/programs`, 'POST', token, {
    programName: `${nodeId} two-tariff prices`,
    attributes: [{ type: 'GRIDFLEX_NODE', values: [nodeId] }],
    payloadDescriptors: [{ objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'PRICE', units: 'KWH', currency: tariff.currency }],
  });
  // User Guide 7.3: the second interval follows the first; event.duration longer than both loops them.
  const startMs = alignToInterval(nowMs);
  const event = await call<{ id: string }>(`${vtn}/events`, 'POST', token, {
    programID: program.id,
    eventName: `${nodeId} peak / off-peak`,
    duration: 'P9999Y',
    intervalPeriod: { start: new Date(startMs).toISOString() },
    intervals: [
      { id: 0, intervalPeriod: { start: new Date(startMs).toISOString(), duration: `PT${tariff.peakHours}H` }, payloads: [{ type: 'PRICE', values: [tariff.peakPrice] }] },
      { id: 1, intervalPeriod: { duration: `PT${tariff.offPeakHours}H` }, payloads: [{ type: 'PRICE', values: [tariff.offPeakPrice] }] },
    ],
  });
  return { clientId: admin.clientId, programId: program.id, eventId: event.id, startMs };
}

async function call<T>(url: string, method: string, bearer: string, body: unknown): Promise<T> {
  const res = await fetch(url, { method, headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`demo prices: ${method} ${url} → ${res.status} ${text}`);
  return JSON.parse(text) as T;
}
