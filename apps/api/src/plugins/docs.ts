/**
 * Owns the OpenAPI document, generated from the same zod schemas that validate requests
 * (fastify-type-provider-zod's jsonSchemaTransform), served as JSON at /docs/json and as
 * Swagger UI at /docs. Registered before the routes, so every route is in it.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

async function docsPlugin(app: FastifyInstance) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Switchyard API',
        description:
          'Distributed LLM jobs: submit, follow and cancel jobs; an OpenAI-compatible facade; provider status, metrics and workers. Errors are {"error":{"type","message","param","code"}}.',
        version: '0.1.0',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'A client key (API_KEYS) or an operator key (ADMIN_API_KEYS)' },
        },
      },
      security: [{ bearer: [] }],
      tags: [
        { name: 'jobs', description: 'Jobs on the queue' },
        { name: 'openai', description: 'OpenAI-compatible facade (point the official SDK at /v1)' },
        { name: 'fleet', description: 'Provider status, metrics, workers' },
        { name: 'health', description: 'Liveness and readiness' },
      ],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}

export default fp(docsPlugin, { name: 'switchyard-docs' });
