import {
  MEASURED_REPORT_TYPES,
  durationMs,
  expandEvent,
  reportOnlyIntervals,
  reportSchedule,
  reportUnits,
  reportValue,
  type Event,
  type ReportRequest,
} from '../../grid-adapters/openadr3/index.ts';
import { POWER_ACTIVE_IMPORT } from '../../grid-adapters/ocpp/meter-values.ts';
import type { Db, Queryable } from '../store/db.ts';

/**
 * The reports gridflex owes an upstream VTN as a VEN: scheduled from the events' reportDescriptors
 * (grid-adapters/openadr3/report-schedule.ts), persisted in openadr_ven_report (migration 015) so
 * a due report survives a restart and a VTN outage, and built from the measurement table when sent.
 *
 * Descriptors with the same timing are merged into one report (e.g. USAGE and BASELINE with default
 * timing → one report with both payloads per interval). Payload types computed: USAGE (kWh), DEMAND
 * (mean kW), BASELINE (mean of the same window on up to 7 previous days with data), DELTA_USAGE
 * (usage − baseline: the flexibility delivered, negative when less was drawn); forecasts
 * (historical = false) project the baseline. Other payload types are not reported (logged once per
 * event by the caller).
 */

export interface ReportSpec {
  eventId: string;
  historical: boolean;
  aggregate: boolean;
  /** Resource names the descriptor's targets narrow the report to; null: every resource of the VEN. */
  targets: string[] | null;
  intervals: { id: number; startMs: number; endMs: number }[];
  payloads: { payloadType: string; readingType: string | null; units: string | null }[];
}

export interface ScheduledRow {
  key: string;
  dueMs: number;
  spec: ReportSpec;
}

/** Intervals per loop above which a looping event is not expanded further for reports. */
const MAX_INTERVALS = 2000;

/**
 * Every report the event's descriptors ask for that falls due up to `untilMs`. Events without
 * intervals use their intervalPeriod (report-only events, User Guide 7.5).
 */
export function scheduleEventReports(e: Event, untilMs: number): ScheduledRow[] {
  const wanted = (e.reportDescriptors ?? []).filter((d) => MEASURED_REPORT_TYPES.has(d.payloadType));
  if (wanted.length === 0) return [];
  let intervals: { id: number; startMs: number; endMs: number }[];
  let loopLength: number;
  if ((e.intervals ?? []).length > 0) {
    const t = expandEvent(e, { nowMs: Date.parse(e.modificationDateTime), untilMs, maxIntervals: MAX_INTERVALS });
    intervals = t.intervals.map((iv) => ({ id: iv.id, startMs: iv.startMs, endMs: iv.endMs }));
    loopLength = e.intervals!.length;
  } else {
    const p = e.intervalPeriod;
    const start = p?.start ? Date.parse(p.start) : NaN;
    const dur = p?.duration && Number.isFinite(start) ? durationMs(p.duration, start) : 0;
    intervals = reportOnlyIntervals(start, dur, untilMs, MAX_INTERVALS);
    loopLength = 1;
  }
  const rows = new Map<string, ScheduledRow>();
  for (const d of wanted) {
    const targets = d.targets?.length ? [...d.targets].sort() : null;
    for (const s of reportSchedule(d, intervals, { loopLength, untilMs })) {
      const key = `${s.historical ? 'h' : 'f'}${s.aggregate ? 'a' : ''}:${s.first}-${s.last}@${new Date(s.dueMs).toISOString()}${targets ? ':' + targets.join(',') : ''}`;
      let row = rows.get(key);
      if (!row) {
        row = { key, dueMs: s.dueMs, spec: { eventId: e.id, historical: s.historical, aggregate: s.aggregate, targets, intervals: intervals.slice(s.first, s.last + 1), payloads: [] } };
        rows.set(key, row);
      }
      if (!row.spec.payloads.some((p) => p.payloadType === d.payloadType)) row.spec.payloads.push({ payloadType: d.payloadType, readingType: d.readingType ?? null, units: d.units ?? null });
    }
  }
  return [...rows.values()];
}

export interface VenReportScope {
  vtnUrl: string;
  venName: string;
}

/**
 * Stores the schedule of one event version: unsent rows of older versions are replaced (the event
 * changed), rows already sent are kept (never sent twice), rows due before `notBeforeMs` are not
 * added (a VEN that connects late does not send months of old reports).
 */
export async function saveSchedule(q: Queryable, s: VenReportScope, eventId: string, version: string, rows: ScheduledRow[], notBeforeMs: number): Promise<void> {
  await q.query(
    `DELETE FROM openadr_ven_report WHERE vtn_url = $1 AND ven_name = $2 AND event_id = $3 AND event_version <> $4 AND sent_at IS NULL AND failed_at IS NULL`,
    [s.vtnUrl, s.venName, eventId, version],
  );
  for (const r of rows) {
    if (r.dueMs < notBeforeMs) continue;
    await q.query(
      `INSERT INTO openadr_ven_report (vtn_url, ven_name, event_id, report_key, event_version, due_at, spec) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (vtn_url, ven_name, event_id, report_key) DO NOTHING`,
      [s.vtnUrl, s.venName, eventId, r.key, version, new Date(r.dueMs).toISOString(), JSON.stringify(r.spec)],
    );
  }
}

/** Drops unsent rows of events the VTN no longer shows (deleted or no longer targeted to us). */
export async function forgetEventsExcept(q: Queryable, s: VenReportScope, eventIds: string[]): Promise<void> {
  await q.query(
    `DELETE FROM openadr_ven_report WHERE vtn_url = $1 AND ven_name = $2 AND sent_at IS NULL AND failed_at IS NULL AND NOT (event_id = ANY($3::text[]))`,
    [s.vtnUrl, s.venName, eventIds],
  );
}

export interface DueReport {
  eventId: string;
  key: string;
  attempts: number;
  dueMs: number;
  spec: ReportSpec;
}

export async function dueReports(q: Queryable, s: VenReportScope, nowMs: number, limit = 100): Promise<DueReport[]> {
  const rows = await q.query<{ event_id: string; report_key: string; attempts: number; due_at: Date | string; spec: ReportSpec | string }>(
    `SELECT event_id, report_key, attempts, due_at, spec FROM openadr_ven_report
      WHERE vtn_url = $1 AND ven_name = $2 AND sent_at IS NULL AND failed_at IS NULL AND due_at <= $3 AND (next_try_at IS NULL OR next_try_at <= $3)
      ORDER BY due_at, event_id, report_key LIMIT $4`,
    [s.vtnUrl, s.venName, new Date(nowMs).toISOString(), limit],
  );
  return rows.map((r) => ({
    eventId: r.event_id,
    key: r.report_key,
    attempts: Number(r.attempts),
    dueMs: new Date(r.due_at).getTime(),
    spec: typeof r.spec === 'string' ? (JSON.parse(r.spec) as ReportSpec) : r.spec,
  }));
}

/** The earliest time a pending report is due or may be retried (null: none pending). */
export async function nextReportAt(q: Queryable, s: VenReportScope): Promise<number | null> {
  const [r] = await q.query<{ at: Date | string | null }>(
    `SELECT min(greatest(due_at, coalesce(next_try_at, due_at))) AS at FROM openadr_ven_report WHERE vtn_url = $1 AND ven_name = $2 AND sent_at IS NULL AND failed_at IS NULL`,
    [s.vtnUrl, s.venName],
  );
  return r?.at ? new Date(r.at).getTime() : null;
}

export type SendOutcome = { state: 'sent'; reportId: string } | { state: 'retry'; error: string; nextTryMs: number } | { state: 'failed'; error: string };

export async function recordOutcome(q: Queryable, s: VenReportScope, eventId: string, key: string, o: SendOutcome, nowMs: number): Promise<void> {
  const at = new Date(nowMs).toISOString();
  if (o.state === 'sent') {
    await q.query(`UPDATE openadr_ven_report SET sent_at = $5, report_id = $6, attempts = attempts + 1, last_error = NULL WHERE vtn_url = $1 AND ven_name = $2 AND event_id = $3 AND report_key = $4`, [s.vtnUrl, s.venName, eventId, key, at, o.reportId]);
  } else if (o.state === 'failed') {
    await q.query(`UPDATE openadr_ven_report SET failed_at = $5, last_error = $6, attempts = attempts + 1 WHERE vtn_url = $1 AND ven_name = $2 AND event_id = $3 AND report_key = $4`, [s.vtnUrl, s.venName, eventId, key, at, o.error.slice(0, 500)]);
  } else {
    await q.query(
      `UPDATE openadr_ven_report SET next_try_at = $5, last_error = $6, attempts = attempts + 1 WHERE vtn_url = $1 AND ven_name = $2 AND event_id = $3 AND report_key = $4`,
      [s.vtnUrl, s.venName, eventId, key, new Date(o.nextTryMs).toISOString(), o.error.slice(0, 500)],
    );
  }
}

/** Back-off before retrying a report the VTN did not take: 30 s doubling per attempt, at most an hour. */
export function retryDelayMs(attempts: number): number {
  return Math.min(3_600_000, 30_000 * 2 ** Math.min(attempts, 7));
}

/** Sum over the EVSEs under `nodeId` of each one's mean import power (kW) in [from, to); null: no data. */
export async function meanKw(q: Queryable, nodeId: string, fromMs: number, toMs: number): Promise<number | null> {
  const [r] = await q.query<{ kw: number | null }>(
    `WITH RECURSIVE sub AS (SELECT id FROM topology_node WHERE id = $1 UNION SELECT n.id FROM topology_node n JOIN sub ON n.parent_id = sub.id),
     per AS (SELECT node_id, avg(value) AS kw FROM measurement WHERE node_id IN (SELECT id FROM sub) AND measurand = $2 AND time >= $3 AND time < $4 GROUP BY node_id)
     SELECT sum(kw)::float8 AS kw FROM per`,
    [nodeId, POWER_ACTIVE_IMPORT, new Date(fromMs).toISOString(), new Date(toMs).toISOString()],
  );
  return r?.kw === null || r?.kw === undefined ? null : Number(r.kw);
}

/**
 * BASELINE: the mean measured power of the same time window on each of the previous 7 days (those
 * with measurements), averaged — what the node would have drawn without the event.
 */
export async function baselineKw(q: Queryable, nodeId: string, fromMs: number, toMs: number): Promise<number | null> {
  const days: number[] = [];
  for (let d = 1; d <= 7; d++) {
    const kw = await meanKw(q, nodeId, fromMs - d * 86_400_000, toMs - d * 86_400_000);
    if (kw !== null) days.push(kw);
  }
  return days.length ? days.reduce((a, b) => a + b, 0) / days.length : null;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** readingType of a payload gridflex computes (reading-types enumeration, Definitions). */
function readingTypeOf(payloadType: string, historical: boolean): string {
  if (!historical) return 'FORECAST';
  if (payloadType === 'USAGE') return 'DIRECT_READ';
  if (payloadType === 'DEMAND') return 'MEAN';
  return 'ESTIMATED'; // BASELINE, DELTA_USAGE: derived from other days' measurements
}

export interface BuildContext {
  db: Db;
  venName: string;
  /** Resource names gridflex registered; each that is a topology node is measured at that node. */
  resources: string[];
  /** Targets granted to the VEN (a descriptor naming one addresses every resource). */
  grantedTargets: string[];
  nowMs: number;
}

/**
 * The report for one scheduled row. Per resource (or, with aggregate, one AGGREGATED_REPORT resource
 * summing them, User Guide 7.7), per covered interval with the event's interval id (User Guide 7.5
 * "interval id"): the payloads the descriptors asked for. Historical windows are measured up to
 * `nowMs` at most; intervals without any value are left out.
 */
export async function buildReport(ctx: BuildContext, spec: ReportSpec, reportName: string): Promise<ReportRequest> {
  const nodes = new Set((await ctx.db.query<{ id: string }>('SELECT id FROM topology_node WHERE id = ANY($1::text[])', [ctx.resources])).map((r) => r.id));
  const addressed = (name: string) => !spec.targets || spec.targets.includes(name) || ctx.grantedTargets.some((t) => spec.targets!.includes(t));
  const measured = ctx.resources.filter((r) => nodes.has(r) && addressed(r));
  const needBaseline = !spec.historical || spec.payloads.some((p) => p.payloadType === 'BASELINE' || p.payloadType === 'DELTA_USAGE');
  const groups: { resourceName: string; nodes: string[] }[] = spec.aggregate ? [{ resourceName: 'AGGREGATED_REPORT', nodes: measured }] : measured.map((n) => ({ resourceName: n, nodes: [n] }));
  const resources: ReportRequest['resources'] = [];
  for (const g of groups) {
    const intervals = [];
    for (const iv of spec.intervals) {
      if (!Number.isFinite(iv.endMs)) continue;
      const end = spec.historical ? Math.min(iv.endMs, ctx.nowMs) : iv.endMs;
      if (end <= iv.startMs) continue;
      const sum = async (f: (n: string) => Promise<number | null>): Promise<number | null> => {
        let total: number | null = null;
        for (const n of g.nodes) {
          const v = await f(n);
          if (v !== null) total = (total ?? 0) + v;
        }
        return total;
      };
      const base = needBaseline ? await sum((n) => baselineKw(ctx.db, n, iv.startMs, end)) : null;
      // A forecast of usage is the baseline projected onto the window (nothing is measured yet).
      const kw = spec.historical ? await sum((n) => meanKw(ctx.db, n, iv.startMs, end)) : base;
      const hours = (end - iv.startMs) / 3_600_000;
      const payloads = [];
      for (const p of spec.payloads) {
        const v = reportValue(p.payloadType, p.units, kw, base, hours);
        if (v !== null) payloads.push({ type: p.payloadType, values: [round3(p.payloadType === 'USAGE' ? Math.max(0, v) : v)] });
      }
      if (payloads.length === 0) continue;
      intervals.push({ id: iv.id, intervalPeriod: { start: new Date(iv.startMs).toISOString(), duration: `PT${Math.round((end - iv.startMs) / 1000)}S` }, payloads });
    }
    resources.push({ resourceName: g.resourceName, intervals });
  }
  return {
    eventID: spec.eventId,
    clientName: ctx.venName,
    reportName,
    payloadDescriptors: spec.payloads.map((p) => ({
      objectType: 'REPORT_PAYLOAD_DESCRIPTOR' as const,
      payloadType: p.payloadType,
      readingType: readingTypeOf(p.payloadType, spec.historical),
      units: reportUnits(p.payloadType, p.units),
    })),
    resources,
  };
}
