/** OSCP 2.0 adapter: wire schemas, date-times, session messages, the forecast → kW mapping and the outbound mappings. Pure. */
export * from './date-time.ts';
export * from './errors.ts';
export * from './forecast-mapping.ts';
export * from './messages.ts';
export * from './schemas.ts';
export * from './outbound-mapping.ts';
