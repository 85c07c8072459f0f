import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChannelHandler, DeliveryResult } from '../../services/core/delivery.ts';
import type { Db } from '../../services/store/db.ts';
import { claimDue, recordAttempt } from '../../services/store/outbox-store.ts';

/**
 * A fake DSO (OSCP 2.0 Capacity Provider) for tests: a real HTTP server that records every call
 * gridflex makes to it and answers 204 (or what a test sets per endpoint), and a client for the
 * calls the DSO makes to gridflex.
 */
export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export class FakeDso {
  private server?: Server;
  baseUrl = '';
  readonly received: Received[] = [];
  /** Answer per endpoint name (e.g. 'heartbeat'); default 204 without body. */
  readonly answers = new Map<string, { status: number; body?: string }>();

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // keep the text: a test may want to see what was not JSON
        }
        const path = (req.url ?? '').replace(/^\/oscp\/cp\/2\.0\//, '');
        this.received.push({ path, headers: req.headers, body });
        const a = this.answers.get(path) ?? { status: 204 };
        res.statusCode = a.status;
        if (a.body !== undefined) res.setHeader('Content-Type', 'application/json');
        res.end(a.body);
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/oscp/cp/2.0`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** What gridflex sent to `path` (endpoint name), oldest first. */
  calls(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }
}

export interface FpAnswer {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
}

export interface CallOptions {
  /** `Token <t>`; null: no Authorization header. */
  token?: string | null;
  /** Overrides the whole Authorization header. */
  authorization?: string;
  /** Default: a fresh UUID; null: no X-Request-ID header. */
  requestId?: string | null;
  contentType?: string;
  /** Sent as is instead of JSON.stringify(body). */
  raw?: string;
  method?: string;
}

/** A call of the DSO to gridflex's FP endpoint `path` (e.g. 'register'). */
export async function callFp(fpBaseUrl: string, path: string, body: unknown, o: CallOptions = {}): Promise<FpAnswer & { requestId: string | null }> {
  const requestId = o.requestId === undefined ? randomUUID() : o.requestId;
  const headers: Record<string, string> = { 'Content-Type': o.contentType ?? 'application/json' };
  if (o.authorization !== undefined) headers.Authorization = o.authorization;
  else if (o.token) headers.Authorization = `Token ${o.token}`;
  if (requestId !== null) headers['X-Request-ID'] = requestId;
  const method = o.method ?? 'POST';
  const res = await fetch(`${fpBaseUrl}/${path}`, { method, headers, ...(method === 'GET' ? {} : { body: o.raw ?? JSON.stringify(body) }) });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: res.status, headers: res.headers, text, body: parsed, requestId };
}

/**
 * Runs the outbox for channel 'oscp' through `handler` the way the dispatcher does (claim, deliver,
 * record), until nothing is due. Retries are parked an hour ahead so the loop ends. Returns the
 * outcomes in order.
 */
export async function deliverOscp(db: Db, handler: ChannelHandler): Promise<{ id: number; action: string; result: DeliveryResult }[]> {
  const out: { id: number; action: string; result: DeliveryResult }[] = [];
  for (let round = 0; round < 20; round++) {
    const rows = await claimDue(db, { channel: 'oscp', limit: 50, staleMs: 3_600_000 });
    if (rows.length === 0) return out;
    for (const row of rows) {
      const result = await handler(row);
      out.push({ id: row.id, action: row.action, result });
      if (result.outcome === 'acked') await recordAttempt(db, row.id, { state: 'acked', response: result.response, countAttempt: true });
      else if (result.outcome === 'rejected') await recordAttempt(db, row.id, { state: 'rejected', response: result.response, error: result.error, countAttempt: true });
      else await recordAttempt(db, row.id, { state: 'pending', error: result.error, retryInMs: 3_600_000, countAttempt: result.outcome === 'retry' });
    }
  }
  throw new Error('outbox did not drain in 20 rounds');
}
