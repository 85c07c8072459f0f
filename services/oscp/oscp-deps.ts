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
}

/** Where our Flexibility Provider endpoints live, relative to the public base URL. */
export const FP_BASE_PATH = '/oscp/fp/2.0';

/** The base_url we give peers in our Register: the public URL plus FP_BASE_PATH. */
export function fpBaseUrl(publicBaseUrl: string): string {
  return publicBaseUrl.replace(/\/+$/, '') + FP_BASE_PATH;
}
