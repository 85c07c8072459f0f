/**
 * OCPP security profiles 2 and 3 (OCPP 2.0.1 Part 2 §A00 "TLS with Basic Authentication" and "TLS with
 * Client Side Certificates"; OCPP 1.6 Security Whitepaper ed. 3 §2): a TLS server in front of the CSMS.
 *
 * - TLS 1.2 or newer only (both documents forbid older versions).
 * - Client certificates are REQUESTED, not required, at the TLS layer (`rejectUnauthorized: false`):
 *   the CSMS decides per station (ocpp_station_security) in its upgrade check, so a profile-2 station
 *   needs no certificate and a profile-3 station without a valid one gets HTTP 401 instead of an
 *   opaque TLS failure. See `transportOf` for what the check reads from the socket.
 */
import { readFile } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Config } from '../config.ts';
import type { Csms } from './csms.ts';

export interface OcppTlsOptions {
  csms: Csms;
  /** PEM private key and certificate (chain) of the CSMS. */
  key: string | Buffer;
  cert: string | Buffer;
  /** PEM CA certificate(s) that sign station client certificates (security profile 3). */
  ca?: string | Buffer | (string | Buffer)[];
  /** Answer for plain HTTP requests on the TLS port; default 404. */
  onRequest?: Parameters<typeof createHttpsServer>[1];
}

/** The OCPP endpoint prefix the TLS server routes to the CSMS. */
const OCPP_PREFIX = '/ocpp/';

/**
 * Creates (does not listen) an https.Server whose WebSocket upgrades under /ocpp/ go to the CSMS.
 * Listen on it like any server: `server.listen(port, host)`.
 */
export function createOcppTlsServer(o: OcppTlsOptions): HttpsServer {
  const server = createHttpsServer(
    {
      key: o.key,
      cert: o.cert,
      ...(o.ca ? { ca: o.ca } : {}),
      minVersion: 'TLSv1.2',
      requestCert: o.ca !== undefined,
      rejectUnauthorized: false,
    },
    o.onRequest ?? ((_req, res) => res.writeHead(404).end()),
  );
  attachOcppUpgrades(server, o.csms);
  return server;
}

/** Routes WebSocket upgrades under /ocpp/ on any http(s).Server the caller created to the CSMS. */
export function attachOcppUpgrades(server: { on(event: 'upgrade', fn: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): unknown }, csms: Csms): void {
  server.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').startsWith(OCPP_PREFIX)) csms.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
}

export interface Transport {
  /** The connection is TLS on this process's socket. */
  tls: boolean;
  /** The client certificate chains to our CA (only meaningful with tls). */
  certAuthorized: boolean;
  /** Subject CN of the client certificate, when one was presented. */
  certCommonName?: string;
}

/** What the upgrade request's socket says about TLS and the client certificate. */
export function transportOf(req: IncomingMessage): Transport {
  const s = req.socket as Partial<TLSSocket>;
  if (!s.encrypted || typeof s.getPeerCertificate !== 'function') return { tls: false, certAuthorized: false };
  const cert = s.getPeerCertificate();
  const cn = cert && typeof cert === 'object' && cert.subject ? cert.subject.CN : undefined;
  const commonName = Array.isArray(cn) ? cn[0] : cn;
  return { tls: true, certAuthorized: s.authorized === true, ...(commonName ? { certCommonName: commonName } : {}) };
}

export interface OcppTlsListener {
  server: HttpsServer;
  port: number;
  close(): Promise<void>;
}

/**
 * Starts the TLS listener configured by OCPP_TLS_PORT / OCPP_TLS_KEY_FILE / OCPP_TLS_CERT_FILE /
 * OCPP_TLS_CA_FILE; undefined when OCPP_TLS_PORT is unset. Throws when the port is set but the key or
 * certificate is missing (fail closed: no silent plain-only start).
 */
export async function startOcppTlsFromConfig(
  csms: Csms,
  config: Pick<Config, 'HOST' | 'OCPP_TLS_PORT' | 'OCPP_TLS_KEY_FILE' | 'OCPP_TLS_CERT_FILE' | 'OCPP_TLS_CA_FILE'>,
): Promise<OcppTlsListener | undefined> {
  if (config.OCPP_TLS_PORT === undefined) return undefined;
  if (!config.OCPP_TLS_KEY_FILE || !config.OCPP_TLS_CERT_FILE) throw new Error('OCPP_TLS_PORT needs OCPP_TLS_KEY_FILE and OCPP_TLS_CERT_FILE');
  const [key, cert, ca] = await Promise.all([
    readFile(config.OCPP_TLS_KEY_FILE),
    readFile(config.OCPP_TLS_CERT_FILE),
    config.OCPP_TLS_CA_FILE ? readFile(config.OCPP_TLS_CA_FILE) : Promise.resolve(undefined),
  ]);
  const server = createOcppTlsServer({ csms, key, cert, ...(ca ? { ca } : {}) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.OCPP_TLS_PORT, config.HOST, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
