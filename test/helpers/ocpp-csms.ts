/**
 * A CSMS under test behind a real http.Server on an ephemeral port, wired the way services/main.ts
 * wires it (paths under /ocpp/ go to handleUpgrade), with the events it raises recorded.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig, type Config } from '../../services/config.ts';
import { createLogger } from '../../services/log.ts';
import { createMetrics, type Metrics } from '../../services/metrics.ts';
import { createCsms, type Csms, type CsmsDeps } from '../../services/ocpp/csms.ts';
import type { Db, Queryable } from '../../services/store/db.ts';

export interface TestCsms {
  csms: Csms;
  config: Config;
  metrics: Metrics;
  /** ws://127.0.0.1:<port>/ocpp */
  endpoint: string;
  areaChanged: { gridAreaId: string; reason: string }[];
  stationConnected: { stationId: string; gridAreaId: string }[];
  close(): Promise<void>;
}

export async function startTestCsms(db: Db, env: Record<string, string> = {}, options: Pick<CsmsDeps, 'checkProfilesOnConnect'> = {}): Promise<TestCsms> {
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', OCPP_CALL_TIMEOUT_MS: '300', OCPP_HEARTBEAT_INTERVAL_S: '60', ...env });
  const metrics = createMetrics();
  const areaChanged: TestCsms['areaChanged'] = [];
  const stationConnected: TestCsms['stationConnected'] = [];
  const csms = createCsms({
    db,
    log: createLogger(config.LOG_LEVEL),
    metrics,
    config,
    events: {
      areaChanged: (gridAreaId, reason) => areaChanged.push({ gridAreaId, reason }),
      stationConnected: (stationId, gridAreaId) => stationConnected.push({ stationId, gridAreaId }),
    },
    ...options,
  });
  const server: Server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').startsWith('/ocpp/')) csms.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    csms,
    config,
    metrics,
    endpoint: `ws://127.0.0.1:${port}/ocpp`,
    areaChanged,
    stationConnected,
    async close() {
      await csms.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * A Db whose queries fail while `failing` is set: simulates the database going away under a running
 * CSMS (handlers must answer InternalError and keep the connection).
 */
export function faultyDb(db: Db): Db & { failing: boolean } {
  const down = () => Promise.reject(Object.assign(new Error('database unavailable (test)'), { code: '57P01' }));
  const wrapped: Db & { failing: boolean } = {
    failing: false,
    kind: db.kind,
    query: <R extends object>(sql: string, params?: Parameters<Queryable['query']>[1]) => (wrapped.failing ? down() : db.query<R>(sql, params)),
    tx: <T>(fn: (q: Queryable) => Promise<T>) => (wrapped.failing ? down() : db.tx(fn)),
    exec: (sql: string) => db.exec(sql),
    listen: (channel, onNotify, events) => db.listen(channel, onNotify, events),
    close: () => db.close(),
  };
  return wrapped;
}
