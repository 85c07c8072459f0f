/** OSCP 2.0 adapter: wire schemas, date-times, session messages and the forecast → kW mapping. Pure. */
export * from './date-time.ts';
export * from './errors.ts';
export * from './forecast-mapping.ts';
export * from './messages.ts';
export * from './schemas.ts';
