import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { loadConfig, type Config } from '../../services/config.ts';
import type { ChannelHandler, DeliveryResult } from '../../services/core/delivery.ts';
import { createLogger } from '../../services/log.ts';
import { createMetrics } from '../../services/metrics.ts';
import { createOscpChannel, createOscpCpRouter, createOscpFpRouter } from '../../services/oscp/index.ts';
import type { Db } from '../../services/store/db.ts';
import { deliverOscp } from './oscp-dso.ts';
import { assertOscpValid, schemaOfEndpoint } from './oscp-schemas.ts';

/**
 * One gridflex for OSCP tests: its own database, its FP (`/oscp/fp/2.0`) and CP (`/oscp/cp/2.0`)
 * endpoints on a real HTTP server, and its outbound OSCP channel. Every body the channel sends is
 * checked against the official OSCP 2.0 schema before it leaves. The clock is the test's.
 */
export class OscpInstance {
  server?: Server;
  url = '';
  readonly forecastsFor: string[] = [];
  readonly reports: { gridAreaId: string; message: string }[] = [];
  readonly sent: { url: string; action: string; body: unknown }[] = [];
  readonly log = createLogger('silent');
  readonly metrics = createMetrics();
  readonly config: Config;
  clock: number;

  constructor(
    readonly db: Db,
    startMs: number,
    env: Record<string, string> = {},
  ) {
    this.clock = startMs;
    this.config = loadConfig({ NODE_ENV: 'test', OSCP_HEARTBEAT_INTERVAL_S: '60', ...env });
  }

  get fp(): string {
    return `${this.url}/oscp/fp/2.0`;
  }

  get cp(): string {
    return `${this.url}/oscp/cp/2.0`;
  }

  async start(): Promise<void> {
    const url = () => this.url;
    // publicBaseUrl is read per request (known only after listen): a getter, not a spread copy.
    const common = () => ({ db: this.db, log: this.log, metrics: this.metrics, config: this.config, get publicBaseUrl() { return url(); }, now: () => this.clock });
    const app = express();
    app.use('/oscp/fp/2.0', createOscpFpRouter(Object.assign(common(), { onForecast: (a: string) => this.forecastsFor.push(a) })));
    app.use('/oscp/cp/2.0', createOscpCpRouter(Object.assign(common(), { onReport: (gridAreaId: string, message: string) => this.reports.push({ gridAreaId, message }) })));
    this.server = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => this.server!.once('listening', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  channel(): ChannelHandler {
    const fetchImpl: typeof fetch = async (input, init) => {
      const url = String(input);
      const action = url.slice(url.lastIndexOf('/') + 1);
      const body: unknown = JSON.parse(String(init?.body));
      assertOscpValid(schemaOfEndpoint(action), body, `body gridflex sent to ${url}`);
      this.sent.push({ url, action, body });
      return fetch(input, init);
    };
    return createOscpChannel({ db: this.db, log: this.log, metrics: this.metrics, config: this.config, fetchImpl, timeoutMs: 5000 });
  }

  /** Delivers this instance's outbox; returns `action:outcome` per message. */
  async deliver(): Promise<string[]> {
    const results: { action: string; result: DeliveryResult }[] = await deliverOscp(this.db, this.channel());
    for (const r of results) if (r.result.outcome !== "acked" && process.env.OSCP_TEST_DEBUG) console.log(r);
    return results.map((r) => `${r.action}:${r.result.outcome}`);
  }
}

/** Delivers both instances' outboxes in turns until neither has anything due; returns all outcomes. */
export async function settle(...nodes: OscpInstance[]): Promise<string[]> {
  const all: string[] = [];
  for (let round = 0; round < 10; round++) {
    let n = 0;
    for (const node of nodes) {
      const r = await node.deliver();
      n += r.length;
      all.push(...r);
    }
    if (n === 0) return all;
  }
  throw new Error('OSCP outboxes did not settle in 10 rounds');
}
