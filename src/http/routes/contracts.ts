/**
 * Contracts (§6): the caller's own, and one by id for its buyer, seller or an admin —
 * answered with the JSON the store holds, the same bytes the purchase answered.
 */
import type { FastifyInstance } from 'fastify';
import type { Market } from '../../domain/market.js';
import { ERROR_RESPONSES, ID_PARAMS, JSON_TYPE, ref } from '../route-schemas.js';

export function contractRoutes(app: FastifyInstance, market: Market): void {
  app.get(
    '/contracts',
    { schema: { response: { 200: ref('ContractList'), ...ERROR_RESPONSES } } },
    async (request, reply) =>
      reply.type(JSON_TYPE).send(await market.contractsJson(request.principal)),
  );

  app.get<{ Params: { id: string } }>(
    '/contracts/:id',
    { schema: { params: ID_PARAMS('id'), response: { 200: ref('Contract'), ...ERROR_RESPONSES } } },
    async (request, reply) =>
      reply.type(JSON_TYPE).send(await market.contractJson(request.principal, request.params.id)),
  );
}
