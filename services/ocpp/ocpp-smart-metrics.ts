/**
 * Prometheus metrics of OCPP smart charging (closed loop, capabilities), registered in the process
 * registry of services/metrics.ts. Labels stay bounded: grid area, never station (10 000 stations);
 * per-station compliance is in the ocpp_compliance table.
 */
import { Counter } from 'prom-client';
import type { Metrics } from '../metrics.ts';

function build(metrics: Metrics) {
  const registers = [metrics.registry];
  return {
    complianceChecks: new Counter({
      name: 'gridflex_ocpp_compliance_checks_total',
      help: 'OCPP closed-loop checks (composite schedule read-back, meter vs setpoint) by grid area, kind and result',
      labelNames: ['grid_area', 'kind', 'result'] as const,
      registers,
    }),
    resends: new Counter({ name: 'gridflex_ocpp_profile_resends_total', help: 'Charging profiles re-sent after a deviation, by grid area', labelNames: ['grid_area'] as const, registers }),
    flagged: new Counter({ name: 'gridflex_ocpp_stations_flagged_total', help: 'Stations flagged non-compliant, by grid area', labelNames: ['grid_area'] as const, registers }),
    capabilityReads: new Counter({ name: 'gridflex_ocpp_capability_reads_total', help: 'Station capability reads at boot by version and outcome', labelNames: ['version', 'outcome'] as const, registers }),
  };
}

export type SmartMetrics = ReturnType<typeof build>;
const byRegistry = new WeakMap<object, SmartMetrics>();

export function smartMetrics(metrics: Metrics): SmartMetrics {
  let m = byRegistry.get(metrics.registry);
  if (!m) {
    m = build(metrics);
    byRegistry.set(metrics.registry, m);
  }
  return m;
}
