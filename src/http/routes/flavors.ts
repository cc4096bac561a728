/** LIST_FLAVORS (§4) and the provider operations (§7): thin over the catalog. */
import type { FastifyInstance } from 'fastify';
import { typeFromSpelling } from '../../domain/flavor-types.js';
import type { Market } from '../../domain/market.js';
import { parseQuerySelector } from '../../domain/selector.js';
import { HubError } from '../../errors.js';
import type { FlavorPublish, FlavorRefresh, FlavorWithdraw } from '../../types/wire.js';
import { ERROR_RESPONSES, ID_PARAMS, JSON_TYPE, ref } from '../route-schemas.js';

type Query = Record<string, string | string[] | undefined>;

export function flavorRoutes(app: FastifyInstance, market: Market): void {
  const { catalog, offers } = market;

  app.get(
    '/flavors',
    { schema: { response: { 200: ref('FlavorList'), ...ERROR_RESPONSES } } },
    async (request, reply) => {
      const selector = parseQuerySelector(undefined, request.query as Query);
      return reply.type(JSON_TYPE).send(catalog.listBytes(selector));
    },
  );

  // One path segment names either a flavor type (list of that type) or a flavor id.
  app.get<{ Params: { segment: string } }>(
    '/flavors/:segment',
    {
      schema: {
        params: ID_PARAMS('segment'),
        response: { 200: { oneOf: [ref('FlavorList'), ref('Flavor')] }, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { segment } = request.params;
      const type = typeFromSpelling(segment);
      if (type) {
        const selector = parseQuerySelector(type, request.query as Query);
        return reply.type(JSON_TYPE).send(catalog.listBytes(selector, type));
      }
      const entry = catalog.get(segment);
      if (!entry) throw new HubError('FLAVOR_NOT_FOUND', `No flavor ${segment} on offer`);
      return reply.type(JSON_TYPE).send(entry.json);
    },
  );

  app.post<{ Body: FlavorPublish }>(
    '/flavors',
    {
      schema: { body: ref('FlavorPublish'), response: { 201: ref('Flavor'), ...ERROR_RESPONSES } },
    },
    async (request, reply) => {
      const flavor = await offers.publish(request.principal, request.body);
      return reply.code(201).type(JSON_TYPE).send(JSON.stringify(flavor));
    },
  );

  app.post<{ Params: { flavorId: string }; Body: FlavorRefresh | undefined }>(
    '/flavors/:flavorId/refresh',
    {
      config: { optionalBody: true },
      schema: {
        params: ID_PARAMS('flavorId'),
        body: ref('FlavorRefresh'),
        response: { 200: ref('Flavor'), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const flavor = await offers.refresh(
        request.principal,
        request.params.flavorId,
        request.body ?? {},
      );
      return reply.type(JSON_TYPE).send(JSON.stringify(flavor));
    },
  );

  app.post<{ Params: { flavorId: string }; Body: FlavorWithdraw | undefined }>(
    '/flavors/:flavorId/withdraw',
    {
      config: { optionalBody: true },
      schema: {
        params: ID_PARAMS('flavorId'),
        body: ref('FlavorWithdraw'),
        response: { 200: ref('Flavor'), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const flavor = await offers.withdraw(
        request.principal,
        request.params.flavorId,
        request.body?.Reason?.Message,
      );
      return reply.type(JSON_TYPE).send(JSON.stringify(flavor));
    },
  );
}
