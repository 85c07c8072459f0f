import { z } from 'zod';
import type { RouteDef } from './route.ts';

interface Operation {
  summary: string;
  security?: { bearerAuth: string[] }[];
  requestBody?: unknown;
  parameters?: unknown[];
  responses: Record<string, unknown>;
}

/** Collects route declarations into an OpenAPI 3.1 document of our own admin API. */
export class OpenApiRegistry {
  private readonly paths: Record<string, Record<string, Operation>> = {};

  constructor(private readonly info: { title: string; version: string }) {}

  add<B, Q, P>(basePath: string, def: RouteDef<B, Q, P>): void {
    const path = (basePath + def.path).replace(/:([A-Za-z_]+)/g, '{$1}');
    const op: Operation = {
      summary: def.summary,
      security: [{ bearerAuth: [] }],
      responses: {
        [String(def.status ?? (def.response ? 200 : 204))]: def.response
          ? { description: 'OK', content: { 'application/json': { schema: toSchema(def.response) } } }
          : { description: 'No Content' },
        default: { description: 'Problem', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
      },
    };
    const params = [...def.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    if (params.length) op.parameters = params;
    if (def.body) op.requestBody = { required: true, content: { 'application/json': { schema: toSchema(def.body) } } };
    (this.paths[path] ??= {})[def.method] = op;
  }

  document(): Record<string, unknown> {
    return {
      openapi: '3.1.0',
      info: this.info,
      paths: this.paths,
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } },
        schemas: {
          Problem: {
            type: 'object',
            properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' }, instance: { type: 'string' } },
          },
        },
      },
    };
  }
}

function toSchema(schema: z.ZodType): unknown {
  try {
    return z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' });
  } catch {
    return {};
  }
}
