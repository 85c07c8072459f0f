/**
 * OpenADR 3.1.0: wire schemas (zod), interval timing and the mapping of events to canonical DR
 * signals and capacity envelopes. Pure: no I/O, time passed in. Rules are cited next to the code as
 * "Definitions <section>" / "User Guide <section>" of ../shared/specs/openadr3/3.1.0/.
 */
export * from './schemas.ts';
export * from './duration.ts';
export * from './intervals.ts';
export * from './signals.ts';
export * from './report-schedule.ts';
