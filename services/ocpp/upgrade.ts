/**
 * The HTTP side of an OCPP-J upgrade before ocpp-rpc takes over: which paths are ours, and how a
 * refused upgrade is answered.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

export type PathCheck = { ok: true; stationId: string } | { ok: false; status: 400 | 404 };

/**
 * `<endpoint>/<stationId>` with exactly one non-empty, percent-decodable segment after the endpoint
 * (OCPP-J §3.1.1: the station appends "/" and its percent-encoded identity to the endpoint URL).
 * A query string is ignored. A segment that does not decode is a 400 (ocpp-rpc would throw on it).
 */
export function parseOcppPath(url: string | undefined, endpoint: string): PathCheck {
  let pathname: string;
  try {
    pathname = new URL(url ?? '/', 'http://localhost').pathname;
  } catch {
    return { ok: false, status: 400 };
  }
  const prefix = endpoint + '/';
  if (!pathname.startsWith(prefix)) return { ok: false, status: 404 };
  const segment = pathname.slice(prefix.length);
  if (segment === '' || segment.includes('/')) return { ok: false, status: 404 };
  try {
    return { ok: true, stationId: decodeURIComponent(segment) };
  } catch {
    return { ok: false, status: 400 };
  }
}

/** Answers a refused upgrade with a plain HTTP status and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number): void {
  const text = STATUS_CODES[status] ?? 'Error';
  // A peer that resets the connection meanwhile must not raise an unhandled 'error'.
  socket.on('error', () => undefined);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
}
