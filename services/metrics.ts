import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of every interface and of the solver; one registry per process (tests build several). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gridflex_' });
  const m = {
    registry,
    httpRequests: new Counter({ name: 'gridflex_http_requests_total', help: 'HTTP requests by route family and status', labelNames: ['family', 'method', 'status'] as const, registers: [registry] }),
    ocppConnections: new Gauge({ name: 'gridflex_ocpp_connections', help: 'Connected OCPP stations by protocol version', labelNames: ['version'] as const, registers: [registry] }),
    ocppMessages: new Counter({ name: 'gridflex_ocpp_messages_total', help: 'OCPP messages by direction, action and outcome', labelNames: ['direction', 'action', 'outcome'] as const, registers: [registry] }),
    oscpMessages: new Counter({ name: 'gridflex_oscp_messages_total', help: 'OSCP messages by direction, message and status', labelNames: ['direction', 'message', 'status'] as const, registers: [registry] }),
    solveSeconds: new Histogram({ name: 'gridflex_solve_seconds', help: 'allocate() wall time per grid area', labelNames: ['grid_area', 'status'] as const, buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry] }),
    allocationRuns: new Counter({ name: 'gridflex_allocation_runs_total', help: 'Allocation runs by grid area, status and whether they passed verification', labelNames: ['grid_area', 'status', 'verified'] as const, registers: [registry] }),
    unmetEnergy: new Gauge({ name: 'gridflex_unmet_energy_kwh', help: 'Energy the last allocation could not deliver by departure', labelNames: ['grid_area'] as const, registers: [registry] }),
    limitViolations: new Gauge({ name: 'gridflex_limit_violation_kw', help: 'Largest excess over a limit the last allocation could not keep because the input asked for the impossible (e.g. required export V2G could not give); 0 normally', labelNames: ['grid_area'] as const, registers: [registry] }),
    outboxBacklog: new Gauge({ name: 'gridflex_outbox_backlog', help: 'Outbox messages waiting for delivery, by channel', labelNames: ['channel'] as const, registers: [registry] }),
    outboxDeliveries: new Counter({ name: 'gridflex_outbox_deliveries_total', help: 'Outbox delivery attempts by channel and outcome', labelNames: ['channel', 'outcome'] as const, registers: [registry] }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
