import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Db } from '../store/db.ts';

/** What the OSCP Flexibility Provider endpoints need from the composition root. */
export interface OscpDeps {
  db: Db;
  log: Logger;
  metrics: Metrics;
  config: Config;
  /** How peers reach us, e.g. `https://gridflex.example.net` (read per request: known after listen). */
  publicBaseUrl: string;
  /** Called after a forecast is committed and answered, with the grid area it concerns. */
  onForecast(gridAreaId: string): void;
  /** The clock (epoch ms) for offline-mode decisions; default Date.now. Tests pass their own. */
  now?: () => number;
}

/** Where our Flexibility Provider endpoints live, relative to the public base URL. */
export const FP_BASE_PATH = '/oscp/fp/2.0';

/** The base_url we give peers in our Register: the public URL plus FP_BASE_PATH. */
export function fpBaseUrl(publicBaseUrl: string): string {
  return publicBaseUrl.replace(/\/+$/, '') + FP_BASE_PATH;
}

/** Where our Capacity Provider endpoints (toward CPOs) live, relative to the public base URL. */
export const CP_BASE_PATH = '/oscp/cp/2.0';

/** The base_url we give CPO peers in our Register: the public URL plus CP_BASE_PATH. */
export function cpBaseUrl(publicBaseUrl: string): string {
  return publicBaseUrl.replace(/\/+$/, '') + CP_BASE_PATH;
}

/** Our base_url toward a peer: the FP endpoints for a Capacity Provider, the CP endpoints for a Flexibility Provider. */
export function ourBaseUrlFor(peerRole: 'capacity_provider' | 'flexibility_provider', publicBaseUrl: string): string {
  return peerRole === 'capacity_provider' ? fpBaseUrl(publicBaseUrl) : cpBaseUrl(publicBaseUrl);
}

/**
 * What the Capacity Provider endpoints need: the same as the FP side, and a hook for CPO reports
 * (adjustment requests, compliance errors, measurements) once committed and answered.
 */
export interface OscpCpDeps extends Omit<OscpDeps, 'onForecast'> {
  onReport?(gridAreaId: string, message: string): void;
}
