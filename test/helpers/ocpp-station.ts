/**
 * Independent OCPP charge points for tests: ocpp-rpc RPCClients (strict mode by default, so every
 * message they send and receive is checked against the official schemas), plus a raw HTTP upgrade probe
 * to look at how the server answers a handshake. Nothing here uses the CSMS code.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { RPCClient } from 'ocpp-rpc';
import { ocpp21TestValidator } from './ocpp-schemas.ts';

/** TLS client settings (PEM): the CA to trust, and a client certificate for security profile 3. */
export interface TlsClientOptions {
  ca?: string;
  cert?: string;
  key?: string;
}

export type TestOcppVersion = '1.6' | '2.0.1' | '2.1';
const PROTOCOL: Record<TestOcppVersion, string> = { '1.6': 'ocpp1.6', '2.0.1': 'ocpp2.0.1', '2.1': 'ocpp2.1' };
type ClientOptions = ConstructorParameters<typeof RPCClient>[0];

export interface StationClientOptions {
  /** ws://host:port/ocpp */
  endpoint: string;
  identity: string;
  password?: string;
  version: TestOcppVersion;
  /** false: lets a test send schema-invalid messages. */
  strict?: boolean;
  callTimeoutMs?: number;
  /** For wss:// endpoints. */
  tls?: TlsClientOptions;
}

export function stationClient(o: StationClientOptions): RPCClient {
  const options: Partial<ClientOptions> = {
    endpoint: o.endpoint,
    identity: o.identity,
    protocols: [PROTOCOL[o.version]],
    strictMode: o.strict ?? true,
    // ocpp-rpc's bundled 2.1 validator cannot find its schemas (see ocpp-schemas.ts): use the re-keyed one.
    strictModeValidators: [ocpp21TestValidator],
    reconnect: false,
    callTimeoutMs: o.callTimeoutMs ?? 5_000,
    ...(o.password === undefined ? {} : { password: o.password }),
    ...(o.tls ? { wsOpts: { ...o.tls } } : {}),
  };
  return new RPCClient(options as ClientOptions);
}

export async function connectStation(o: StationClientOptions): Promise<RPCClient> {
  const c = stationClient(o);
  await c.connect();
  return c;
}

export interface UpgradeOutcome {
  /** HTTP status of the answer to the upgrade request (101 = switched to WebSocket). */
  status: number;
  /** The Sec-WebSocket-Protocol the server chose; undefined = header absent. */
  protocol?: string;
  /** Close code of a close frame the server sent right after the upgrade. */
  closeCode?: number;
}

/**
 * Sends a raw WebSocket upgrade request and reports the server's answer. Raw on purpose: a WebSocket
 * client library aborts by itself when the server picks no subprotocol, which is the case to observe.
 */
export function probeUpgrade(url: string, opts: { protocols?: string[]; user?: string; password?: string; tls?: TlsClientOptions } = {}): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      'Sec-WebSocket-Protocol': (opts.protocols ?? ['ocpp2.0.1']).join(', '),
    };
    if (opts.user !== undefined) headers.Authorization = 'Basic ' + Buffer.from(`${opts.user}:${opts.password ?? ''}`).toString('base64');
    const req = url.startsWith('wss:') ? httpsRequest(url.replace(/^wss/, 'https'), { headers, ...opts.tls }) : request(url.replace(/^ws/, 'http'), { headers });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error('probe timed out'));
    }, 5_000);
    req.on('response', (res) => {
      clearTimeout(timer);
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on('upgrade', (res, socket, head) => {
      const protocolHeader = res.headers['sec-websocket-protocol'];
      const protocol = Array.isArray(protocolHeader) ? protocolHeader.join(',') : protocolHeader;
      let data = head;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearTimeout(wait);
        socket.destroy();
        // First frame: opcode 0x8 = close; its payload starts with the 16-bit close code.
        const closeCode = data.length >= 4 && (data[0]! & 0x0f) === 0x8 ? data.readUInt16BE(2) : undefined;
        resolve({ status: res.statusCode ?? 0, ...(protocol === undefined ? {} : { protocol }), ...(closeCode === undefined ? {} : { closeCode }) });
      };
      const wait = setTimeout(finish, 1_000);
      socket.on('data', (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        if (data.length >= 4) finish();
      });
      socket.on('error', () => undefined);
      socket.on('end', finish);
      if (data.length >= 4) finish();
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

/** Waits until `check` returns a value (not undefined/false), polling. */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The RPC error code of a rejected call (what the CSMS put in its CALLERROR). */
export async function callErrorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const code = (err as { rpcErrorCode?: unknown }).rpcErrorCode;
    if (typeof code === 'string') return code;
    throw err;
  }
  throw new Error('call succeeded, expected a CALLERROR');
}
