/** Owns GET /v1/models (and /v1/models/:model): OpenAI's list shape over the enabled providers. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { OpenAiError } from '../openai/errors.ts';
import { listModels } from '../openai/models.ts';
import { errorSchema } from './schemas.ts';

const modelSchema = z.object({ id: z.string(), object: z.literal('model'), created: z.number().int(), owned_by: z.string() });

export default async function modelRoutes(app: FastifyInstance) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const models = () => listModels(app.ctx.config, app.ctx.providers);

  r.get(
    '/v1/models',
    {
      schema: {
        summary: 'OpenAI-compatible list of the models the enabled providers offer',
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
        summary: 'One model, OpenAI-compatible (ids contain slashes: provider/model)',
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
