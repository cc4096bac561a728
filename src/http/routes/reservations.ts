/** RESERVE_FLAVOR (§5) and PURCHASE_FLAVOR (§6): thin over the reservation engine. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Market } from '../../domain/market.js';
import type { Purchase, Reservation } from '../../types/wire.js';
import { ERROR_RESPONSES, ID_PARAMS, JSON_TYPE, ref } from '../route-schemas.js';

/** Longest wait a client may ask for with Prefer: wait (RFC 7240), seconds. */
export const MAX_WAIT_SECONDS = 3600;

/** The wait=<seconds> preference, if the client stated one. */
export function preferredWait(header: string | string[] | undefined): number | undefined {
  const text = Array.isArray(header) ? header.join(',') : header;
  const m = text ? /(?:^|[,;\s])wait\s*=\s*"?(\d+)"?/i.exec(text) : null;
  return m ? Math.min(Number(m[1]), MAX_WAIT_SECONDS) : undefined;
}

/** Aborts when the client's connection closes before its answer is written. */
function clientGone(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableFinished) ac.abort();
  };
  reply.raw.once('close', onClose);
  // Asked for only once the request waits: the client may already be gone.
  if (reply.raw.destroyed || request.raw.socket?.destroyed) ac.abort();
  return ac.signal;
}

export function reservationRoutes(app: FastifyInstance, market: Market): void {
  const { reservations } = market;

  app.post<{ Body: Reservation }>(
    '/reservations',
    {
      schema: {
        body: ref('Reservation'),
        response: { 200: ref('Transaction'), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const wait = preferredWait(request.headers.prefer);
      if (wait !== undefined) reply.header('Preference-Applied', `wait=${wait}`);
      return reservations.reserve(request.principal, request.body, {
        ...(wait !== undefined ? { waitMs: wait * 1000 } : {}),
        signal: () => clientGone(request, reply),
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/transactions/:id',
    {
      schema: {
        params: ID_PARAMS('id'),
        response: { 200: ref('Transaction'), ...ERROR_RESPONSES },
      },
    },
    async (request) => reservations.transaction(request.principal, request.params.id),
  );

  app.delete<{ Params: { id: string } }>(
    '/transactions/:id',
    {
      schema: { params: ID_PARAMS('id'), response: { 204: { type: 'null' }, ...ERROR_RESPONSES } },
    },
    async (request, reply) => {
      await reservations.cancel(request.principal, request.params.id);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { id: string }; Body: Purchase | undefined }>(
    '/transactions/:id/purchase',
    {
      config: { optionalBody: true },
      schema: {
        params: ID_PARAMS('id'),
        body: ref('Purchase'),
        response: { 200: ref('Contract'), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      // LiqoCredentials are accepted and deliberately not stored (they are secrets).
      const { contractJson, replayed } = await reservations.purchase(
        request.principal,
        request.params.id,
      );
      if (replayed) reply.header('Idempotent-Replayed', 'true');
      // The JSON the store holds, byte for byte: a replay answers exactly what the first did.
      return reply.type(JSON_TYPE).send(contractJson);
    },
  );
}
