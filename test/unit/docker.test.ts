import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

// No Docker engine runs where gridflex is developed: the stack is checked statically here.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (p: string) => readFileSync(path.join(root, p), 'utf8');

interface ComposeService { image?: string; build?: { context: string; dockerfile: string }; environment?: Record<string, string>; volumes?: string[] }

describe('docker stack (static checks)', () => {
  const compose = YAML.parse(read('docker/compose.yaml')) as { services: Record<string, ComposeService> };

  it('has gridflex, TimescaleDB, Mosquitto, Prometheus and Grafana', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['grafana', 'gridflex', 'mosquitto', 'prometheus', 'timescaledb']);
    assert.match(compose.services.timescaledb!.image!, /^timescale\/timescaledb/);
  });

  it('carries no secret defaults: every password and token must come from the environment', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const [k, v] of Object.entries(svc.environment ?? {})) {
        if (/PASSWORD|TOKEN|SECRET/.test(k)) assert.match(String(v), /^\$\{[A-Z_]+(:\?[^}]*)?\}$/, `${name}.${k} must be \${VAR:?…}, not a literal`);
      }
    }
    assert.match(compose.services.gridflex!.environment!.DATABASE_URL!, /\$\{POSTGRES_PASSWORD\}/);
  });

  it('mounts files that exist and builds from a Dockerfile whose COPY sources exist', () => {
    for (const svc of Object.values(compose.services)) {
      for (const v of svc.volumes ?? []) {
        const src = v.split(':')[0]!;
        if (src.startsWith('.')) assert.ok(existsSync(path.join(root, 'docker', src)), `volume source ${src} missing`);
      }
    }
    const b = compose.services.gridflex!.build!;
    const dockerfile = read(path.join('docker', b.context, b.dockerfile));
    for (const m of dockerfile.matchAll(/^COPY\s+(.+)\s+\S+$/gm)) {
      for (const src of m[1]!.split(/\s+/)) assert.ok(existsSync(path.join(root, 'docker', b.context, src)), `COPY source ${src} missing`);
    }
    assert.match(dockerfile, /CMD \["node", "bin\/gridflex.js", "start"\]/);
  });

  it('provisions Grafana datasources that the dashboards refer to', () => {
    const ds = YAML.parse(read('dashboards/provisioning/datasources/gridflex.yaml')) as { datasources: { uid: string }[] };
    const uids = new Set(ds.datasources.map((d) => d.uid));
    for (const f of readdirSync(path.join(root, 'dashboards/json'))) {
      const text = read(path.join('dashboards/json', f));
      for (const m of text.matchAll(/"uid":\s*"(gridflex-[a-z]+)"/g)) if (m[1] !== 'gridflex-overview') assert.ok(uids.has(m[1]!), `${f} refers to unknown datasource ${m[1]}`);
    }
    const prom = YAML.parse(read('docker/prometheus.yml')) as { scrape_configs: { static_configs: { targets: string[] }[] }[] };
    assert.deepEqual(prom.scrape_configs[0]!.static_configs[0]!.targets, ['gridflex:8080']);
  });
});
