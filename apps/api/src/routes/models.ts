/** Owns GET /v1/models (and /v1/models/:model): OpenAI's list shape over the enabled providers. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { OpenAiError } from '../openai/errors.ts';
import { errorSchema } from './schemas.ts';

const modelSchema = z.object({ id: z.string(), object: z.literal('model'), created: z.number().int(), owned_by: z.string() });

export default async function modelRoutes(app: FastifyInstance) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const models = () => app.ctx.models.list();

  r.get(
    '/v1/models',
    {
      schema: {
        summary: 'OpenAI-compatible list of the routes and the models the configured deployments offer',
        tags: ['openai'],
        response: { 200: z.object({ object: z.literal('list'), data: z.array(modelSchema) }) },
      },
    },
    async () => ({ object: 'list' as const, data: models() }),
  );

  r.get(
    '/v1/models/*',
    {
      schema: {
        summary: 'One model, OpenAI-compatible (ids may contain slashes: <deployment>/<model>)',
        tags: ['openai'],
        params: z.object({ '*': z.string().max(300) }),
        response: { 200: modelSchema, 404: errorSchema },
      },
    },
    async (request) => {
      const id = request.params['*'];
      const model = models().find((m) => m.id === id);
      if (!model) {
        throw new OpenAiError(404, 'invalid_request_error', `The model "${id}" does not exist. See GET /v1/models.`, {
          code: 'model_not_found',
          param: 'model',
        });
      }
      return model;
    },
  );
}
