import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A simulated DSO acting as OSCP 2.0 Capacity Provider: a real HTTP server for the calls gridflex
 * makes to it, and a real HTTP client for the calls it makes to gridflex. It keeps every message
 * either way so tests can check them against the official schemas.
 */
export interface SimDsoLogEntry {
  direction: 'in' | 'out';
  path: string;
  status: number;
  headers: Record<string, string>;
  body: unknown;
  response?: unknown;
}

export class SimDso {
  private server?: Server;
  baseUrl = '';
  /** Token we (the DSO) hand to gridflex for calling us. */
  readonly tokenForFp = randomBytes(16).toString('hex');
  /** Token gridflex gave us in its register call-back; what we use to call it. */
  tokenFromFp?: string;
  readonly log: SimDsoLogEntry[] = [];
  requiredBehaviour?: unknown;

  constructor(private readonly fpBaseUrl: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/oscp/cp/2.0`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: unknown = null;
    try {
      body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : null;
    } catch {
      body = null;
    }
    const path = (req.url ?? '').replace(/^\/oscp\/cp\/2\.0/, '');
    const auth = req.headers.authorization ?? '';
    // gridflex always calls us with the token we gave it in our Register (OSCP 2.0 Register)
    let status = 204;
    if (auth !== `Token ${this.tokenForFp}`) status = 401;
    else if (path === '/register') this.tokenFromFp = (body as { token?: string } | null)?.token;
    else if (path === '/handshake') {
      // answer the handshake with our required behaviour, as a separate call (OSCP 2.0 handshake_acknowledge)
      setTimeout(() => void this.send('/handshake_acknowledge', { required_behaviour: { heartbeat_interval: 60, measurement_configuration: ['INTERMITTENT'] } }).catch(() => undefined), 20);
    } else if (!['/heartbeat', '/handshake_acknowledge', '/adjust_group_capacity_forecast', '/update_group_measurements', '/group_capacity_compliance_error'].includes(path)) status = 404;
    this.log.push({ direction: 'in', path, status, headers: flatHeaders(req.headers), body });
    res.statusCode = status;
    if (status !== 204) res.setHeader('Content-Type', 'application/json');
    res.end(status === 204 ? undefined : JSON.stringify({ message: status === 401 ? 'bad token' : 'unknown endpoint' }));
  }

  /** Starts the token exchange: calls gridflex's /register with the one-time registration token. */
  async register(registrationToken: string): Promise<number> {
    return this.send('/register', { token: this.tokenForFp, version_url: [{ version: '2.0', base_url: this.baseUrl }] }, registrationToken);
  }

  async postForecast(groupId: string, blocks: { start: Date; end: Date; kw: number }[], type = 'CONSUMPTION', unit: 'KW' | 'W' | 'A' = 'KW'): Promise<number> {
    return this.send('/update_group_capacity_forecast', {
      group_id: groupId, type,
      forecasted_blocks: blocks.map((b) => ({ capacity: unit === 'W' ? b.kw * 1000 : b.kw, phase: 'ALL', unit, start_time: b.start.toISOString(), end_time: b.end.toISOString() })),
    });
  }

  async heartbeat(offlineAfterS: number): Promise<number> {
    return this.send('/heartbeat', { offline_mode_at: new Date(Date.now() + offlineAfterS * 1000).toISOString() });
  }

  async send(path: string, body: unknown, token = this.tokenFromFp): Promise<number> {
    const headers = { 'Content-Type': 'application/json', Authorization: `Token ${token ?? ''}`, 'X-Request-ID': randomUUID() };
    const res = await fetch(this.fpBaseUrl + path, { method: 'POST', headers, body: JSON.stringify(body) });
    const text = await res.text();
    this.log.push({ direction: 'out', path, status: res.status, headers, body, response: text ? safeJson(text) : undefined });
    if (path === '/handshake_acknowledge') this.requiredBehaviour = (body as { required_behaviour?: unknown }).required_behaviour;
    return res.status;
  }

  isRegistered(): boolean {
    return this.tokenFromFp !== undefined;
  }
}

function safeJson(t: string): unknown {
  try {
    return JSON.parse(t);
  } catch {
    return t;
  }
}

function flatHeaders(h: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(',') : v;
  return out;
}
