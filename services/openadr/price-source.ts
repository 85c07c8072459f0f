import type { Horizon } from '../../optimizer/model.ts';
import { intervalStartMs } from '../../optimizer/model.ts';
import type { Queryable } from '../store/db.ts';
import { loadDrSignals } from './signal-store.ts';

/**
 * Energy prices for a grid area from OpenADR PRICE events, one value per horizon interval: a price on
 * the grid area node wins over one on a node below it (the area's tariff applies to all of it); where
 * several signals cover an interval, the highest counts (prudent: charging is never moved into a price
 * that is only partly low). Values are taken as currency per kWh, as the program's descriptor states.
 */
export async function openadrPriceSource(q: Queryable, gridAreaId: string, nodeIds: string[], h: Horizon): Promise<(number | null)[] | undefined> {
  const end = intervalStartMs(h, h.count);
  const signals = await loadDrSignals(q, nodeIds, h.startMs, end, ['price']);
  if (signals.length === 0) return undefined;
  const out: (number | null)[] = Array(h.count).fill(null);
  const fromArea: boolean[] = Array(h.count).fill(false);
  for (const s of signals) {
    const onArea = s.nodeId === gridAreaId;
    for (let t = 0; t < h.count; t++) {
      const a = intervalStartMs(h, t);
      const b = intervalStartMs(h, t + 1);
      if (s.endMs <= a || s.startMs >= b) continue;
      if (fromArea[t] && !onArea) continue;
      const cur = out[t];
      out[t] = onArea && !fromArea[t] ? s.value : cur === null || cur === undefined ? s.value : Math.max(cur, s.value);
      if (onArea) fromArea[t] = true;
    }
  }
  return out;
}
