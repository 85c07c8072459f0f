import type { Allocation, Horizon, LimitViolation } from '../../optimizer/model.ts';
import { intervalStartMs } from '../../optimizer/model.ts';
import type { Queryable } from './db.ts';
import { iso, toMs } from './rows.ts';

export interface NewRun {
  gridAreaId: string;
  trigger: string;
  inputsDigest: string;
  verified: boolean;
  violations: string[];
  allocation: Allocation;
}

// JSON has no Infinity: an absent limit is stored as null.
function finiteOrNull(series: Record<string, number[]>): Record<string, (number | null)[]> {
  const out: Record<string, (number | null)[]> = {};
  for (const [k, v] of Object.entries(series)) out[k] = v.map((x) => (Number.isFinite(x) ? x : null));
  return out;
}

export async function saveRun(q: Queryable, r: NewRun): Promise<number> {
  const a = r.allocation;
  const [row] = await q.query<{ id: number }>(
    `INSERT INTO allocation_run (grid_area_id, trigger, horizon_start, interval_min, interval_count, status, reason, objective, solve_ms,
       inputs_digest, verified, violations, unmet, node_limits, node_totals, solver, limit_violations)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17) RETURNING id`,
    [
      r.gridAreaId, r.trigger, iso(a.horizon.startMs), a.horizon.intervalMinutes, a.horizon.count, a.status, a.reason ?? null,
      Number.isFinite(a.objective) ? a.objective : null, a.solveMs, r.inputsDigest, r.verified,
      JSON.stringify(r.violations), JSON.stringify(a.unmet), JSON.stringify(finiteOrNull(a.nodeLimitsKw)), JSON.stringify(finiteOrNull(a.nodeTotalsKw)),
      a.solver === undefined ? null : JSON.stringify(a.solver),
      JSON.stringify(a.violations ?? []),
    ],
  );
  const runId = Number(row!.id);
  if (r.verified) {
    const evse: string[] = [], start: string[] = [], kw: number[] = [], cap: number[] = [], sess: (string | null)[] = [];
    const exportCap: (number | null)[] = [];
    for (const e of a.evses) {
      for (let t = 0; t < a.horizon.count; t++) {
        evse.push(e.evseId);
        start.push(iso(intervalStartMs(a.horizon, t)));
        kw.push(e.kw[t] ?? 0);
        cap.push(e.capKw[t] ?? 0);
        sess.push(e.sessionId);
        exportCap.push(e.exportCapKw ? (e.exportCapKw[t] ?? 0) : null);
      }
    }
    if (evse.length > 0) {
      await q.query(
        `INSERT INTO setpoint (run_id, evse_id, start_at, kw, cap_kw, session_id, export_cap_kw)
         SELECT $1, e, s, k, c, x, xc FROM unnest($2::text[], $3::timestamptz[], $4::float8[], $5::float8[], $6::text[], $7::float8[]) AS t(e, s, k, c, x, xc)`,
        [runId, evse, start, kw, cap, sess, exportCap],
      );
    }
  }
  return runId;
}

export interface RunSummary {
  id: number;
  gridAreaId: string;
  trigger: string;
  horizon: Horizon;
  status: string;
  reason: string | null;
  objective: number | null;
  solveMs: number;
  verified: boolean;
  violations: string[];
  /** Limits the input made impossible to keep (optimizer slack), e.g. required export V2G could not give. */
  limitViolations: LimitViolation[];
  unmet: unknown;
  nodeLimitsKw: Record<string, (number | null)[]>;
  nodeTotalsKw: Record<string, (number | null)[]>;
  solver: unknown;
  createdAt: string;
}

interface RunRow {
  id: number; grid_area_id: string; trigger: string; horizon_start: Date; interval_min: number; interval_count: number; status: string;
  reason: string | null; objective: number | null; solve_ms: number; verified: boolean; violations: string[] | null; unmet: unknown;
  node_limits: Record<string, (number | null)[]> | null; node_totals: Record<string, (number | null)[]> | null; solver: unknown; created_at: Date;
  limit_violations: LimitViolation[] | null;
}

function fromRunRow(r: RunRow): RunSummary {
  return {
    id: Number(r.id), gridAreaId: r.grid_area_id, trigger: r.trigger,
    horizon: { startMs: toMs(r.horizon_start), intervalMinutes: r.interval_min, count: r.interval_count },
    status: r.status, reason: r.reason, objective: r.objective, solveMs: r.solve_ms, verified: r.verified,
    violations: r.violations ?? [], limitViolations: r.limit_violations ?? [], unmet: r.unmet, nodeLimitsKw: r.node_limits ?? {}, nodeTotalsKw: r.node_totals ?? {}, solver: r.solver ?? null,
    createdAt: new Date(toMs(r.created_at)).toISOString(),
  };
}

/** The newest run of a grid area; `verifiedOnly` gives the one whose setpoints were dispatched. */
export async function latestRun(q: Queryable, gridAreaId: string, verifiedOnly = false): Promise<RunSummary | undefined> {
  const rows = await q.query<RunRow>(
    `SELECT * FROM allocation_run WHERE grid_area_id = $1 AND ($2::boolean = false OR verified) ORDER BY id DESC LIMIT 1`,
    [gridAreaId, verifiedOnly],
  );
  return rows[0] ? fromRunRow(rows[0]) : undefined;
}

export async function recentRuns(q: Queryable, gridAreaId: string, limit: number): Promise<RunSummary[]> {
  const rows = await q.query<RunRow>('SELECT * FROM allocation_run WHERE grid_area_id = $1 ORDER BY id DESC LIMIT $2', [gridAreaId, limit]);
  return rows.map(fromRunRow);
}

export interface SetpointSeries {
  evseId: string;
  sessionId: string | null;
  /** kw < 0 is discharge (V2G); exportCapKw is the most the EVSE may discharge (absent before V2G planning existed). */
  points: { startAt: string; kw: number; capKw: number; exportCapKw?: number }[];
}

export async function setpointsOfRun(q: Queryable, runId: number, evseIds?: string[]): Promise<SetpointSeries[]> {
  const rows = await q.query<{ evse_id: string; start_at: Date; kw: number; cap_kw: number; session_id: string | null; export_cap_kw: number | null }>(
    `SELECT evse_id, start_at, kw, cap_kw, session_id, export_cap_kw FROM setpoint WHERE run_id = $1 AND ($2::text[] IS NULL OR evse_id = ANY($2::text[]))
     ORDER BY evse_id, start_at`,
    [runId, evseIds ?? null],
  );
  const out = new Map<string, SetpointSeries>();
  for (const r of rows) {
    let s = out.get(r.evse_id);
    if (!s) out.set(r.evse_id, (s = { evseId: r.evse_id, sessionId: r.session_id, points: [] }));
    s.points.push({ startAt: new Date(toMs(r.start_at)).toISOString(), kw: r.kw, capKw: r.cap_kw, ...(r.export_cap_kw === null ? {} : { exportCapKw: r.export_cap_kw }) });
  }
  return [...out.values()];
}
