import type { z } from 'zod';
import { jsonSchemaOf } from '../../../lib/contracts/describe.js';
import type { ApiRoute } from './define.js';

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error', 'requestId'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'Stable error code (services/web/README.md lists them).' },
        message: { type: 'string' },
        field: { type: 'string', description: 'The field at fault, when one is.' },
      },
    },
    requestId: { type: 'string' },
  },
};

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output' = 'input') => jsonSchemaOf(schema, io);

/** `/artifacts/:id/download` → `/artifacts/{id}/download`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(where: 'path' | 'query' | 'header', schema: z.ZodObject | undefined): Record<string, unknown>[] {
  if (!schema) return [];
  const json = jsonSchema(schema) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
    schema: s,
  }));
}

/** The OpenAPI 3.1 document of the REST API, generated from the route table (served at /api/v1/openapi.json). */
export function openApiDocument(routes: readonly ApiRoute[], serverUrl: string, version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const responses: Record<string, unknown> = {};
    for (const [status, answer] of Object.entries(r.responses)) {
      responses[status] = answer.body
        ? { description: answer.description, content: { 'application/json': { schema: jsonSchema(answer.body, 'output') } } }
        : { description: answer.description };
    }
    responses['4XX'] = {
      description: 'Refused: the error code says why (invalid input names the field).',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
    responses['5XX'] = {
      description: 'A service behind the web host is unavailable, or an internal error (logged with the request id).',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
    const operation: Record<string, unknown> = {
      operationId: `${r.method}${openApiPath(r.path)
        .replace(/[{}]/g, '')
        .replace(/[/-](.)/g, (_m, c: string) => c.toUpperCase())}`,
      summary: r.summary,
      tags: [r.tag],
      description: `Roles: ${r.roles.join(', ')}.`,
      security: [{ bearer: [] }],
      parameters: [...parameters('path', r.params), ...parameters('query', r.query), ...parameters('header', r.headers)],
      responses,
    };
    if (r.body === 'binary') {
      operation.requestBody = { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } };
    } else if (r.body) {
      operation.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(r.body) } } };
    }
    (paths[`/api/v1${openApiPath(r.path)}`] ??= {})[r.method] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Fulfillment server API',
      version,
      description:
        'Customers: entitlements, download links, staging, upgrades. Vendors: products, releases, artifact uploads. ' +
        'Admins: customers, keys, tokens, entitlements, EULAs, audit.',
    },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API token (made with token.create / POST /api/v1/tokens; shown once).' } },
      schemas: { Error: ERROR_SCHEMA },
    },
    paths,
  };
}
