import { pgErrorCode } from '../store/db.ts';

/**
 * The one error hierarchy of gridflex. Handlers throw these; each protocol maps them once to its own
 * format (problem+json for the admin API, an OSCP Error body, an OCPP CALLERROR).
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
export class BadRequest extends AppError {
  constructor(message: string, details?: unknown) {
    super(400, 'Bad Request', message, details);
  }
}
export class Unauthorized extends AppError {
  constructor(message = 'missing or invalid credentials') {
    super(401, 'Unauthorized', message);
  }
}
export class Forbidden extends AppError {
  constructor(message = 'not allowed') {
    super(403, 'Forbidden', message);
  }
}
export class NotFound extends AppError {
  constructor(message: string) {
    super(404, 'Not Found', message);
  }
}
export class Conflict extends AppError {
  constructor(message: string) {
    super(409, 'Conflict', message);
  }
}
export class Unprocessable extends AppError {
  constructor(message: string, details?: unknown) {
    super(422, 'Unprocessable Content', message, details);
  }
}
export class PayloadTooLarge extends AppError {
  constructor(message = 'request body too large') {
    super(413, 'Content Too Large', message);
  }
}
export class Unavailable extends AppError {
  constructor(message: string) {
    super(503, 'Service Unavailable', message);
  }
}

/** Maps anything thrown to an AppError; PostgreSQL constraint errors are mapped here, once. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const code = pgErrorCode(err);
  const msg = err instanceof Error ? err.message : String(err);
  if (code === '23505') return new Conflict(`already exists: ${msg}`);
  if (code === '23503') return new Unprocessable(`refers to something that does not exist: ${msg}`);
  if (code === '23514' || code === '22P02' || code === '22003' || code === '22007') return new Unprocessable(`invalid value: ${msg}`);
  if (isBodyParserError(err)) {
    if (err.type === 'entity.too.large') return new PayloadTooLarge();
    return new BadRequest(`malformed request body: ${msg}`);
  }
  return new AppError(500, 'Internal Server Error', 'internal error');
}

function isBodyParserError(err: unknown): err is { type: string; status: number } {
  return typeof err === 'object' && err !== null && 'type' in err && typeof (err as { type: unknown }).type === 'string' && 'status' in err;
}
