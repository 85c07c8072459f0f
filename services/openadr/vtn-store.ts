import { randomBytes } from 'node:crypto';
import type { ObjectType } from '../../grid-adapters/openadr3/index.ts';
import type { Queryable } from '../store/db.ts';
import { toMs } from '../store/rows.ts';
import type { OpenadrPrincipal } from './auth.ts';

/**
 * Storage of the VTN's objects. Visibility lives in the queries (Definitions, Object Privacy):
 * - BL clients read everything.
 * - A VEN reads the vens, resources, reports and subscriptions whose clientID is its own.
 * - A VEN reads programs and events without targets, and those with targets only when the targets of
 *   its request, intersected with the targets granted to it (its ven objects and their resources),
 *   meet the object's targets ("logical AND ... if the intersection ... is empty ... an empty set is
 *   returned"). Target hiding: such objects show only the targets of that intersection.
 * Paging: `ORDER BY seq` (creation order) so skip/limit pages are stable.
 */

export type Table = 'openadr_program' | 'openadr_event' | 'openadr_ven' | 'openadr_resource' | 'openadr_report' | 'openadr_subscription';

export const TABLE_OF: Record<ObjectType, Table> = {
  PROGRAM: 'openadr_program',
  EVENT: 'openadr_event',
  VEN: 'openadr_ven',
  RESOURCE: 'openadr_resource',
  REPORT: 'openadr_report',
  SUBSCRIPTION: 'openadr_subscription',
};

export function newObjectId(prefix: string): string {
  return `${prefix}-${randomBytes(9).toString('base64url')}`;
}

export interface StoredObject {
  id: string;
  objectType: ObjectType;
  body: Record<string, unknown>;
  targets: string[];
  createdAt: number;
  modifiedAt: number;
  /** Columns the notification logic needs. */
  clientId?: string;
  programId?: string;
}

interface Row {
  id: string;
  body: Record<string, unknown>;
  targets?: string[];
  created_at: Date;
  modified_at: Date;
  client_id?: string;
  program_id?: string;
}

function fromRow(objectType: ObjectType, r: Row): StoredObject {
  return {
    id: r.id,
    objectType,
    body: r.body,
    targets: r.targets ?? [],
    createdAt: toMs(r.created_at),
    modifiedAt: toMs(r.modified_at),
    clientId: r.client_id,
    programId: r.program_id ?? (objectType === 'PROGRAM' ? r.id : undefined),
  };
}

/** The wire representation: the VTN's metadata (Definitions, Object Metadata) over the stored body. */
export function toWire(o: StoredObject, shownTargets?: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ...o.body,
    id: o.id,
    createdDateTime: new Date(o.createdAt).toISOString(),
    modificationDateTime: new Date(o.modifiedAt).toISOString(),
    objectType: o.objectType,
  };
  if (shownTargets !== undefined) out.targets = shownTargets.length > 0 ? shownTargets : null;
  // The event's program, which 3.0.1 reports carry (3.1.0 ignores the extra property).
  if (o.objectType === 'REPORT' && o.programId) out.programID = o.programId;
  return out;
}

/** Targets granted to a VEN client: those of its ven objects and their resources. */
export async function grantedTargets(q: Queryable, clientId: string): Promise<string[] | null> {
  const rows = await q.query<{ t: string | null; has_ven: boolean }>(
    `SELECT t, true AS has_ven FROM openadr_ven v LEFT JOIN LATERAL (
       SELECT unnest(v.targets) AS t UNION SELECT unnest(r.targets) FROM openadr_resource r WHERE r.ven_id = v.id) x ON true
     WHERE v.client_id = $1`,
    [clientId],
  );
  if (rows.length === 0) return null;
  return [...new Set(rows.map((r) => r.t).filter((t): t is string => t !== null))];
}

/** How a reader sees targeted objects (programs and events). */
export type TargetView = { all: true; filter: string[] | null } | { all: false; effective: string[] | null };

export async function targetView(q: Queryable, p: OpenadrPrincipal, requested: string[] | undefined): Promise<TargetView> {
  if (p.role === 'bl') return { all: true, filter: requested && requested.length > 0 ? requested : null };
  if (!requested || requested.length === 0) return { all: false, effective: null };
  const granted = (await grantedTargets(q, p.clientId)) ?? [];
  return { all: false, effective: requested.filter((t) => granted.includes(t)) };
}

/** SQL condition (on column `targets`) for a target view; parameters appended to `params`. */
function targetCondition(v: TargetView, params: unknown[]): string {
  if (v.all) {
    if (!v.filter) return 'true';
    params.push(v.filter);
    return `targets && $${params.length}::text[]`;
  }
  if (v.effective === null) return 'cardinality(targets) = 0';
  params.push(v.effective);
  return `targets && $${params.length}::text[]`;
}

/** Targets shown to the reader (target hiding for VENs). */
export function shownTargets(v: TargetView, objectTargets: string[]): string[] {
  if (v.all || v.effective === null) return objectTargets;
  return objectTargets.filter((t) => v.effective!.includes(t));
}

export interface Page {
  skip: number;
  limit: number;
}

const COLS: Record<Table, string> = {
  openadr_program: 'id, body, targets, created_at, modified_at',
  openadr_event: 'id, body, targets, created_at, modified_at, program_id',
  openadr_ven: 'id, body, targets, created_at, modified_at, client_id',
  openadr_resource: 'id, body, targets, created_at, modified_at, client_id',
  openadr_report: 'id, body, created_at, modified_at, client_id, program_id',
  openadr_subscription: 'id, body, created_at, modified_at, client_id, program_id',
};

export interface SearchFilter {
  /** column = value, ANDed (Definitions, Response Filtering: filters are additive). */
  equals?: Record<string, string | undefined>;
  targets?: TargetView;
  /** Only rows owned by this client (VEN reads of VEN objects). */
  ownerClientId?: string;
  /** Extra SQL condition with its own parameters appended ($n numbering continues). */
  extra?: (params: unknown[]) => string;
}

export async function search(q: Queryable, type: ObjectType, f: SearchFilter, page: Page): Promise<StoredObject[]> {
  const table = TABLE_OF[type];
  const params: unknown[] = [];
  const where: string[] = [];
  for (const [col, val] of Object.entries(f.equals ?? {})) {
    if (val === undefined) continue;
    params.push(val);
    where.push(`${col} = $${params.length}`);
  }
  if (f.targets) where.push(targetCondition(f.targets, params));
  if (f.ownerClientId !== undefined) {
    params.push(f.ownerClientId);
    where.push(`client_id = $${params.length}`);
  }
  if (f.extra) where.push(f.extra(params));
  params.push(page.skip, page.limit);
  const rows = await q.query<Row>(
    `SELECT ${COLS[table]} FROM ${table} ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
     ORDER BY seq OFFSET $${params.length - 1} LIMIT $${params.length}`,
    params as never[],
  );
  return rows.map((r) => fromRow(type, r));
}

export async function getObject(q: Queryable, type: ObjectType, id: string, forUpdate = false): Promise<StoredObject | undefined> {
  const table = TABLE_OF[type];
  const [r] = await q.query<Row>(`SELECT ${COLS[table]} FROM ${table} WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return r ? fromRow(type, r) : undefined;
}

/** Inserts a row; `cols` are the table's filter columns besides id/body. Returns the stored object. */
export async function insertObject(q: Queryable, type: ObjectType, id: string, body: Record<string, unknown>, cols: Record<string, string | string[] | null>): Promise<StoredObject> {
  const table = TABLE_OF[type];
  const names = ['id', 'body', ...Object.keys(cols)];
  const values = [id, JSON.stringify(body), ...Object.values(cols)];
  const [r] = await q.query<Row>(
    `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING ${COLS[table]}`,
    values,
  );
  return fromRow(type, r!);
}

export async function updateObject(q: Queryable, type: ObjectType, id: string, body: Record<string, unknown>, cols: Record<string, string | string[] | null>): Promise<StoredObject | undefined> {
  const table = TABLE_OF[type];
  const sets = ['body = $2', 'modified_at = now()', ...Object.keys(cols).map((c, i) => `${c} = $${i + 3}`)];
  const [r] = await q.query<Row>(`UPDATE ${table} SET ${sets.join(', ')} WHERE id = $1 RETURNING ${COLS[table]}`, [
    id,
    JSON.stringify(body),
    ...Object.values(cols),
  ]);
  return r ? fromRow(type, r) : undefined;
}

export async function deleteObject(q: Queryable, type: ObjectType, id: string): Promise<StoredObject | undefined> {
  const table = TABLE_OF[type];
  const [r] = await q.query<Row>(`DELETE FROM ${table} WHERE id = $1 RETURNING ${COLS[table]}`, [id]);
  return r ? fromRow(type, r) : undefined;
}
