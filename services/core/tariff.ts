import type { Horizon } from '../../optimizer/model.ts';
import { intervalStartMs } from '../../optimizer/model.ts';
import type { Queryable } from '../store/db.ts';

/**
 * A static time-of-use tariff (setting TARIFF): the price that applies from a local wall-clock time until
 * the next entry, every day, e.g. `00:00=0.21,07:00=0.32,23:00=0.21`. Prices are currency per kWh as the
 * optimizer takes them (only their differences matter: docs/optimizer.md, "Prices"). It fills the
 * intervals no dynamic price (OpenADR PRICE events) covers, so a DSO's or aggregator's signal always wins
 * over the standing tariff.
 */
export interface TariffEntry {
  /** Minutes after local midnight the price starts at. */
  fromMinute: number;
  price: number;
}

export type PriceSource = (q: Queryable, gridAreaId: string, nodeIds: string[], h: Horizon) => Promise<(number | null)[] | undefined>;

/** Parses `HH:MM=price,...`; throws a message that names the bad entry (config.ts turns it into an issue). */
export function parseTariff(spec: string): TariffEntry[] {
  const entries = spec.split(',').map((part) => part.trim()).filter((part) => part.length > 0).map((part) => {
    const m = /^([01]\d|2[0-3]):([0-5]\d)=(-?\d+(?:\.\d+)?)$/.exec(part);
    if (!m) throw new Error(`"${part}" is not HH:MM=price (e.g. 07:00=0.32)`);
    return { fromMinute: Number(m[1]) * 60 + Number(m[2]), price: Number(m[3]) };
  });
  if (entries.length === 0) throw new Error('needs at least one HH:MM=price entry');
  entries.sort((a, b) => a.fromMinute - b.fromMinute);
  for (let i = 1; i < entries.length; i++) {
    if (entries[i]!.fromMinute === entries[i - 1]!.fromMinute) throw new Error(`two prices start at the same time (${fmt(entries[i]!.fromMinute)})`);
  }
  return entries;
}

const fmt = (min: number): string => `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;

/** True when Intl knows the IANA time zone. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * The tariff's price at the start of every horizon interval, in local time of `timeZone` (so a DST change
 * moves the price steps with the wall clock). Before the first entry of a day, the last entry of the
 * previous day still applies.
 */
export function tariffPrices(entries: TariffEntry[], timeZone: string, h: Horizon): number[] {
  const clock = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const out: number[] = [];
  for (let t = 0; t < h.count; t++) {
    const parts = clock.formatToParts(new Date(intervalStartMs(h, t)));
    const minute = Number(parts.find((p) => p.type === 'hour')!.value) * 60 + Number(parts.find((p) => p.type === 'minute')!.value);
    let price = entries[entries.length - 1]!.price;
    for (const e of entries) if (e.fromMinute <= minute) price = e.price;
    out.push(price);
  }
  return out;
}

/** `source`'s prices where it has them, the tariff's everywhere else. */
export function withTariff(source: PriceSource | undefined, entries: TariffEntry[], timeZone: string): PriceSource {
  return async (q, gridAreaId, nodeIds, h) => {
    const dynamic = source ? await source(q, gridAreaId, nodeIds, h) : undefined;
    const standing = tariffPrices(entries, timeZone, h);
    return standing.map((p, t) => {
      const d = dynamic?.[t];
      return typeof d === 'number' && Number.isFinite(d) ? d : p;
    });
  };
}
