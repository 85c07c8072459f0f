import { Command } from 'commander';
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createLogger } from './log.ts';
import type { Gridflex } from './main.ts';
import { openDb } from './store/open-db.ts';
import { migrate } from './store/migrate.ts';

function config(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const i of err.issues) process.stderr.write(`gridflex: invalid configuration: ${i.variable}: ${i.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (sig: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stderr.write(`\ngridflex: ${sig}, shutting down\n`);
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}

function banner(g: Gridflex, demo: boolean): string {
  const t = g.adminToken;
  const lines = [
    '',
    `  gridflex is running (${g.db.kind === 'pglite' ? `embedded PGlite in ${path.resolve(g.config.GRIDFLEX_DATA_DIR)}` : 'PostgreSQL'}, MQTT ${g.mqttUrl})`,
    '',
    `  Status page   ${g.url}/?token=${t}`,
    `  Admin token   ${t}${g.adminTokenGenerated ? '   (generated; kept in the data folder; set GRIDFLEX_ADMIN_TOKEN to choose one)' : ''}`,
    `  Admin API     ${g.url}/api/v1   (OpenAPI: ${g.url}/api/v1/openapi.json)`,
    `  OCPP          ${g.url.replace(/^http/, 'ws')}/ocpp/{stationId}   (ocpp2.1, ocpp2.0.1, ocpp1.6; HTTP Basic auth)`,
    `  OSCP 2.0      ${g.url}/oscp/fp/2.0/ (DSOs)   ${g.url}/oscp/cp/2.0/ (CPO backends)`,
    `  OpenADR 3     ${g.url}/openadr/3.1.0/   (3.0.1: ${g.url}/openadr/3.0.1/; clients: POST /api/v1/openadr/clients)`,
    `  Metrics       ${g.url}/metrics`,
    '',
    '  Try:',
    `    curl -s -H "Authorization: Bearer ${t}" ${g.url}/api/v1/grid-areas`,
    `    curl -s -H "Authorization: Bearer ${t}" ${g.url}/api/v1/grid-areas/${demo ? 'demo-area' : '<id>'}/allocation | head -c 600`,
    `    mosquitto_sub -h ${new URL(g.mqttUrl).hostname} -p ${new URL(g.mqttUrl).port} -t '${g.config.MQTT_TOPIC_PREFIX}/setpoints/#' -v`,
    '',
  ];
  return lines.join('\n') + '\n';
}

const program = new Command();
program.name('gridflex').description('Grid-side flexibility and demand-response orchestrator');

program
  .command('start')
  .description('run gridflex (HTTP, OCPP, OSCP, MQTT, scheduler); configuration from environment variables')
  .action(async () => {
    const cfg = config();
    // The server graph is loaded only for the commands that run it (help and migrate stay light).
    const { startGridflex } = await import('./main.ts');
    const g = await startGridflex(cfg);
    process.stdout.write(banner(g, false));
    onSignals(() => g.stop());
  });

program
  .command('demo')
  .description('run gridflex with a simulated DSO posting OSCP forecasts and a simulated fleet of charge points')
  .action(async () => {
    const cfg = config();
    const [{ startGridflex }, { startDemo }] = await Promise.all([import('./main.ts'), import('./demo/demo.ts')]);
    const g = await startGridflex({ ...cfg, LOG_LEVEL: process.env.LOG_LEVEL ? cfg.LOG_LEVEL : 'warn' });
    const demo = await startDemo(g);
    process.stdout.write(banner(g, true));
    process.stdout.write(`  Demo: ${demo.describe()}\n\n`);
    onSignals(async () => {
      await demo.stop();
      await g.stop();
    });
  });

program
  .command('migrate')
  .description('apply database migrations and exit')
  .action(async () => {
    const cfg = config();
    const log = createLogger(cfg.LOG_LEVEL);
    const db = await openDb({ ...(cfg.DATABASE_URL ? { databaseUrl: cfg.DATABASE_URL } : {}), dataDir: path.join(path.resolve(cfg.GRIDFLEX_DATA_DIR), 'pglite') });
    try {
      const applied = await migrate(db);
      log.info({ applied }, applied.length ? 'migrations applied' : 'database is up to date');
    } finally {
      await db.close();
    }
  });

/** Opens the configured database for a one-shot command, migrated, and closes it afterwards. */
async function withDb<T>(fn: (db: Awaited<ReturnType<typeof openDb>>) => Promise<T>): Promise<T> {
  const cfg = config();
  const db = await openDb({ ...(cfg.DATABASE_URL ? { databaseUrl: cfg.DATABASE_URL } : {}), dataDir: path.join(path.resolve(cfg.GRIDFLEX_DATA_DIR), 'pglite') });
  try {
    await migrate(db);
    return await fn(db);
  } finally {
    await db.close();
  }
}

const peers = program.command('oscp-peer').description('manage OSCP peers (DSOs as capacity providers, CPO backends as flexibility providers)');
peers
  .command('create <name>')
  .description('create a peer and print its one-time registration token')
  .option('--role <role>', 'capacity_provider (a DSO) or flexibility_provider (a CPO backend)', 'capacity_provider')
  .action(async (name: string, opts: { role: string }) => {
    if (opts.role !== 'capacity_provider' && opts.role !== 'flexibility_provider') {
      process.stderr.write(`gridflex: --role must be capacity_provider or flexibility_provider\n`);
      process.exit(2);
    }
    const { createOscpPeer } = await import('./oscp/index.ts');
    const { audit } = await import('./store/audit-store.ts');
    const out = await withDb((db) =>
      db.tx(async (q) => {
        const r = await createOscpPeer(q, { name, role: opts.role as 'capacity_provider' | 'flexibility_provider' });
        await audit(q, 'cli', 'oscp.peer.create', r.peerId, { name, role: opts.role });
        return r;
      }),
    );
    process.stdout.write(`peer ${out.peerId}\nregistration token (shown once): ${out.registrationToken}\n`);
  });
peers
  .command('list')
  .description('list peers with their registration, handshake and heartbeat state')
  .action(async () => {
    const { listOscpPeers } = await import('./oscp/index.ts');
    const list = await withDb((db) => listOscpPeers(db));
    for (const p of list) {
      const seen = p.lastMessageAt ? new Date(p.lastMessageAt).toISOString() : 'never';
      process.stdout.write(`${p.id}\t${p.role}\t${p.state}\t${p.name ?? ''}\tlast message ${seen}\n`);
    }
    if (list.length === 0) process.stdout.write('no OSCP peers\n');
  });
peers
  .command('revoke <peerId>')
  .description("revoke a peer: its tokens stop working at once")
  .action(async (peerId: string) => {
    const { revokeOscpPeer } = await import('./oscp/index.ts');
    const ok = await withDb((db) => revokeOscpPeer(db, peerId));
    if (!ok) {
      process.stderr.write(`gridflex: no OSCP peer ${peerId}\n`);
      process.exit(1);
    }
    process.stdout.write(`peer ${peerId} revoked\n`);
  });

program
  .command('openadr-mqtt-acl')
  .description('print a Mosquitto acl_file for the OpenADR notifier topics, from the OpenADR clients and vens (external broker)')
  .option('--publisher <username>', "MQTT username of gridflex's own publisher", 'gridflex')
  .action(async (opts: { publisher: string }) => {
    const { mosquittoAcl } = await import('./openadr/mqtt-acl.ts');
    const cfg = config();
    process.stdout.write(await withDb((db) => mosquittoAcl(db, `${cfg.MQTT_TOPIC_PREFIX}/openadr3`, opts.publisher)));
  });

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`gridflex: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
