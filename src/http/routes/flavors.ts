/** LIST_FLAVORS (§4) and the provider operations (§7): thin over the catalog. */
import type { FastifyInstance } from 'fastify';
import { typeFromSpelling } from '../../domain/flavor-types.js';
import type { Market } from '../../domain/market.js';
import { parseQuerySelector } from '../../domain/selector.js';
import { HubError } from '../../errors.js';
import type {
  FlavorPublish,
  FlavorPublishBatch,
  FlavorRefresh,
  FlavorWithdraw,
} from '../../types/wire.js';
import { ERROR_RESPONSES, ID_PARAMS, JSON_TYPE, ref } from '../route-schemas.js';

type Query = Record<string, string | string[] | undefined>;

/** The query string as received: the selector cache's key (fastify parsed `query` from it). */
function rawQuery(url: string): string {
  const at = url.indexOf('?');
  return at < 0 ? '' : url.slice(at + 1);
}

export function flavorRoutes(app: FastifyInstance, market: Market): void {
  const { catalog, offers } = market;

  // The LIST handlers are plain functions, not async ones: the answer is ready at once, and
  // an async handler costs a promise and a microtask on every request of the busiest route.
  app.get(
    '/flavors',
    {
      config: { selectorQuery: true },
      schema: { response: { 200: ref('FlavorList'), ...ERROR_RESPONSES } },
    },
    (request, reply) => {
      const selector = parseQuerySelector(undefined, request.query as Query, rawQuery(request.url));
      reply.type(JSON_TYPE).send(catalog.listBytes(selector));
    },
  );

  // One path segment names either a flavor type (list of that type) or a flavor id.
  app.get<{ Params: { segment: string } }>(
    '/flavors/:segment',
    {
      config: { selectorQuery: true },
      schema: {
        params: ID_PARAMS('segment'),
        response: { 200: { oneOf: [ref('FlavorList'), ref('Flavor')] }, ...ERROR_RESPONSES },
      },
    },
    (request, reply) => {
      const { segment } = request.params;
      const type = typeFromSpelling(segment);
      if (type) {
        const selector = parseQuerySelector(type, request.query as Query, rawQuery(request.url));
        reply.type(JSON_TYPE).send(catalog.listBytes(selector, type));
        return;
      }
      const entry = catalog.get(segment);
      if (!entry) throw new HubError('FLAVOR_NOT_FOUND', `No flavor ${segment} on offer`);
      reply.type(JSON_TYPE).send(entry.json);
    },
  );

  // One offer, or an array of them published all or none (§7). if/then/else, not oneOf: a
  // bad array is reported at its offer's index (body/3/price ...), not as "no branch matched".
  app.post<{ Body: FlavorPublish | FlavorPublishBatch }>(
    '/flavors',
    {
      schema: {
        body: {
          if: { type: 'array' },
          then: ref('FlavorPublishBatch'),
          else: ref('FlavorPublish'),
        },
        response: {
          201: { oneOf: [ref('Flavor'), ref('FlavorList')] },
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request, reply) => {
      const { body } = request;
      const answer = Array.isArray(body)
        ? await offers.publishMany(request.principal, body)
        : await offers.publish(request.principal, body);
      return reply.code(201).type(JSON_TYPE).send(JSON.stringify(answer));
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
