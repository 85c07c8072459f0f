import type { Queryable } from './db.ts';

export async function audit(q: Queryable, actor: string, action: string, subject: string | null, detail?: unknown): Promise<void> {
  await q.query('INSERT INTO audit_log (actor, action, subject, detail) VALUES ($1,$2,$3,$4)', [
    actor,
    action,
    subject,
    detail === undefined ? null : JSON.stringify(detail),
  ]);
}

export async function recentAudit(q: Queryable, limit = 50): Promise<{ at: Date; actor: string; action: string; subject: string | null; detail: unknown }[]> {
  return q.query('SELECT at, actor, action, subject, detail FROM audit_log ORDER BY id DESC LIMIT $1', [limit]);
}
