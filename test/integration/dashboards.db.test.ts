import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { forEachDriver } from '../helpers/db.ts';
import { upsertNodes } from '../../services/store/topology-store.ts';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../dashboards/json');

interface Target { rawSql?: string; expr?: string }
interface Panel { title: string; targets?: Target[] }
interface Dashboard { panels: Panel[]; templating?: { list: { name: string; query?: string; datasource?: { type: string } }[] } }

/** Grafana expands these before the query reaches PostgreSQL; the test does the same with fixed values. */
function expandMacros(sql: string): string {
  return sql
    .replace(/\$__timeFilter\(([^)]+)\)/g, `$1 BETWEEN TIMESTAMPTZ '2026-01-01T00:00:00Z' AND TIMESTAMPTZ '2027-01-01T00:00:00Z'`)
    .replace(/\$grid_area/g, 'ga-dash');
}

function queries(): { where: string; sql: string }[] {
  const out: { where: string; sql: string }[] = [];
  for (const f of readdirSync(DIR).filter((x) => x.endsWith('.json'))) {
    const d = JSON.parse(readFileSync(path.join(DIR, f), 'utf8')) as Dashboard;
    for (const p of d.panels) for (const t of p.targets ?? []) if (t.rawSql) out.push({ where: `${f}: ${p.title}`, sql: t.rawSql });
    for (const v of d.templating?.list ?? []) if (v.query && v.datasource?.type.includes('postgres')) out.push({ where: `${f}: variable ${v.name}`, sql: v.query });
  }
  return out;
}

forEachDriver('dashboard SQL runs on the real schema', (get) => {
  const all = queries();
  it('finds SQL panels in the dashboards', () => {
    assert.ok(all.length >= 6, `expected SQL panels, found ${all.length}`);
  });

  before(async () => {
    const db = get();
    await db.tx((q) =>
      upsertNodes(q, [
        { id: 'ga-dash', kind: 'grid_area', parentId: null },
        { id: 'ga-dash-cs', kind: 'station', parentId: 'ga-dash' },
        { id: 'ga-dash-e1', kind: 'evse', parentId: 'ga-dash-cs', maxPowerKw: 11 },
      ]),
    );
    await db.query(`INSERT INTO measurement (time, node_id, measurand, value, unit) VALUES ('2026-06-01T10:00:00Z', 'ga-dash-e1', 'Power.Active.Import', 7.2, 'kW')`);
  });

  for (const q of all) {
    it(q.where, async () => {
      const rows = await get().query(expandMacros(q.sql));
      assert.ok(Array.isArray(rows));
    });
  }
});
