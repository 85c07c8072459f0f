import type { Express, Request, Response } from 'express';
import type { Csms } from '../ocpp/csms.ts';
import type { Db } from '../store/db.ts';
import { listAreaNodes, listGridAreas } from '../store/topology-store.ts';
import { latestRun, setpointsOfRun } from '../store/allocation-store.ts';
import { recentOutbox } from '../store/outbox-store.ts';
import { recentAudit } from '../store/audit-store.ts';
import { listOscpPeers } from '../oscp/index.ts';
import { complianceSummary } from '../ocpp/smart-store.ts';
import { intervalStartMs } from '../../optimizer/model.ts';
import { iso, toMs } from '../store/rows.ts';
import type { Authenticator } from '../http/route.ts';
import { tokenMatches, type AdminPrincipal } from '../http/admin-auth.ts';
import { esc, stepChart } from './svg-chart.ts';

const PAST_SLOTS = 8;

/**
 * The built-in status page at `/`: per grid area the capacity limit against the allocated and measured
 * power, connected stations and recent messages. Server-rendered HTML with inline SVG (no scripts), behind
 * the admin token: `/?token=...` once sets an HttpOnly cookie.
 */
export function statusPage(app: Express, deps: { db: Db; auth: Authenticator<AdminPrincipal>; csms: Pick<Csms, 'connectedStations'>; adminToken: string }): void {
  app.get('/', async (req: Request, res: Response) => {
    const q = typeof req.query.token === 'string' ? req.query.token : undefined;
    if (q !== undefined) {
      if (!tokenMatches(deps.adminToken, q)) return void res.status(401).type('html').send(page('gridflex', '<p>Wrong token.</p>' + loginForm()));
      res.cookie('gridflex_admin', q, { httpOnly: true, sameSite: 'strict', path: '/' });
      return void res.redirect(303, '/');
    }
    try {
      await deps.auth(req);
    } catch {
      return void res.status(401).type('html').send(page('gridflex', loginForm()));
    }
    res.type('html').send(page('gridflex status', await body(deps)));
  });
}

function loginForm(): string {
  return `<form method="get" action="/"><label>Admin token <input name="token" type="password" autocomplete="current-password"></label> <button>Open</button></form>`;
}

async function body(deps: { db: Db; csms: Pick<Csms, 'connectedStations'> }): Promise<string> {
  const { db } = deps;
  const nowMs = Date.now();
  const parts: string[] = [];
  const areas = await listGridAreas(db);
  if (areas.length === 0) parts.push('<p>No grid areas yet: import a topology with <code>PUT /api/v1/topology</code>.</p>');
  for (const a of areas) parts.push(await areaSection(db, a.id, a.name, nowMs));

  const conn = deps.csms.connectedStations();
  parts.push(`<h2>Connected stations (${conn.length})</h2>`);
  parts.push(
    conn.length === 0
      ? '<p class="muted">none</p>'
      : `<table><tr><th>station</th><th>OCPP</th><th>since</th></tr>${conn
          .sort((x, y) => x.stationId.localeCompare(y.stationId))
          .map((c) => `<tr><td>${esc(c.stationId)}</td><td>${esc(c.version)}</td><td>${esc(new Date(c.since).toISOString())}</td></tr>`)
          .join('')}</table>`,
  );

  const peers = await listOscpPeers(db);
  parts.push(`<h2>OSCP peers (${peers.length})</h2>`);
  parts.push(
    peers.length === 0
      ? '<p class="muted">none</p>'
      : `<table><tr><th>peer</th><th>role</th><th>state</th><th>link</th><th>last message</th></tr>${peers
          .map((p) => `<tr><td>${esc(p.name ?? p.id)}</td><td>${esc(p.role)}</td><td>${esc(p.state)}</td><td class="${p.offline ? 'st-failed' : 'st-acked'}">${
            p.offline ? `offline since ${esc(iso(p.offlineSince ?? 0).slice(0, 19))} (fallback limits apply)` : 'online'
          }</td><td>${p.lastMessageAt ? esc(iso(p.lastMessageAt).slice(0, 19)) : 'never'}</td></tr>`)
          .join('')}</table>`,
  );

  const msgs = await recentOutbox(db, { limit: 25 });
  parts.push('<h2>Recent outbound messages</h2>');
  parts.push(
    `<table><tr><th>#</th><th>channel</th><th>target</th><th>action</th><th>state</th><th>attempts</th><th>updated</th></tr>${msgs
      .map((m) => `<tr><td>${m.id}</td><td>${esc(m.channel)}</td><td>${esc(m.target)}</td><td>${esc(m.action)}</td><td class="st-${esc(m.state)}">${esc(m.state)}</td><td>${m.attempts}</td><td>${esc(iso(toMs(m.updatedAt)).slice(11, 19))}</td></tr>`)
      .join('')}</table>`,
  );
  const events = await recentAudit(db, 15);
  parts.push('<h2>Recent inbound events</h2>');
  parts.push(
    `<table><tr><th>at</th><th>actor</th><th>action</th><th>subject</th></tr>${events
      .map((e) => `<tr><td>${esc(iso(toMs(e.at)).slice(0, 19))}</td><td>${esc(e.actor)}</td><td>${esc(e.action)}</td><td>${esc(e.subject)}</td></tr>`)
      .join('')}</table>`,
  );
  return parts.join('\n');
}

async function areaSection(db: Db, areaId: string, name: string | null, nowMs: number): Promise<string> {
  const run = await latestRun(db, areaId, true);
  const head = `<h2>Grid area ${esc(areaId)}${name ? ` — ${esc(name)}` : ''}</h2>`;
  if (!run) return head + '<p class="muted">no allocation yet</p>';
  const h = run.horizon;
  const step = h.intervalMinutes * 60_000;
  const slots = Array.from({ length: PAST_SLOTS + h.count }, (_, i) => intervalStartMs(h, i - PAST_SLOTS));
  const pad = <T,>(v: T[]): (T | null)[] => [...Array<null>(PAST_SLOTS).fill(null), ...v];
  const limit = run.nodeLimitsKw[areaId] ?? [];
  const caps = run.nodeTotalsKw[areaId] ?? [];
  const sp = await setpointsOfRun(db, run.id);
  const setpointSum = Array<number>(h.count).fill(0);
  for (const s of sp) s.points.forEach((p, i) => (setpointSum[i]! += p.kw));
  const nodes = await listAreaNodes(db, areaId);
  const measured = await db.query<{ b: Date; kw: number }>(
    `SELECT b, sum(kw) AS kw FROM (
       SELECT date_bin($1::interval, time, $2::timestamptz) AS b, node_id, avg(value) AS kw
       FROM measurement WHERE node_id = ANY($3::text[]) AND measurand = 'Power.Active.Import' AND time >= $4 AND time < $5
       GROUP BY 1, 2) x GROUP BY b ORDER BY b`,
    [`${h.intervalMinutes} minutes`, iso(h.startMs), nodes.map((n) => n.id), iso(slots[0]!), iso(nowMs + step)],
  );
  const meas = slots.map(() => null as number | null);
  for (const m of measured) {
    const i = Math.round((toMs(m.b) - slots[0]!) / step);
    if (i >= 0 && i < meas.length) meas[i] = Number(m.kw);
  }
  const chart = stepChart({
    slots, unit: 'kW', nowMs,
    series: [
      { name: 'allocated (station caps)', color: '#2980b9', values: pad(caps) },
      { name: 'setpoints (sessions)', color: '#27ae60', values: pad(setpointSum) },
      { name: 'measured', color: '#8e44ad', values: meas },
      // drawn last so it stays visible where the caps fill it
      { name: 'capacity limit', color: '#c0392b', values: pad(limit), dashed: true },
    ],
  });
  const unmet = Array.isArray(run.unmet) ? (run.unmet as { kwh: number }[]).reduce((s, u) => s + u.kwh, 0) : 0;
  const stations = nodes.filter((n) => n.kind === 'station').length;
  const comp = await complianceSummary(db, { gridAreaId: areaId }, nowMs - 86_400_000);
  const compText = comp.checks === 0 ? 'no compliance checks yet' : `compliance (24 h): ${comp.checks - comp.deviations}/${comp.checks} checks within the profiles${comp.deviations ? `, largest excess ${comp.maxExcessKw.toFixed(1)} kW` : ''}`;
  const impossible = run.limitViolations;
  // a limit the input made impossible to keep (e.g. more required export than the V2G EVs can give) must stand out
  const violationText = impossible.length === 0 ? '' : `<p class="warn">${impossible.length} limit(s) cannot be kept as asked: largest excess ${Math.max(...impossible.map((v) => v.excessKw)).toFixed(1)} kW at ${esc(impossible[0]!.nodeId)}</p>`;
  return `${head}<p>run #${run.id} (${esc(run.trigger)}) · ${esc(run.status)} · solved in ${run.solveMs.toFixed(0)} ms · ${stations} stations · unmet energy ${unmet.toFixed(1)} kWh · ${esc(compText)} · ${esc(run.createdAt)}</p>${violationText}${chart}`;
}

function page(title: string, content: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="15"><title>${esc(title)}</title><style>
body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:1000px;padding:0 1rem;color:#222}
table{border-collapse:collapse;font-size:13px;width:100%}td,th{border-bottom:1px solid #eee;padding:3px 6px;text-align:left}
.muted{color:#888}.legend{font-size:12px}.lg{margin-right:12px}.lg i{display:inline-block;width:10px;height:10px;margin-right:4px}
.st-rejected,.st-failed,.warn{color:#c0392b}.st-acked{color:#27ae60}h2{margin-top:1.6rem;font-size:1.1rem}
</style></head><body><h1>gridflex</h1>${content}<p class="muted">Admin API: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> · <a href="/metrics">/metrics</a></p></body></html>`;
}
