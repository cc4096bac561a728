/**
 * RESERVE_FLAVOR (§5) and PURCHASE_FLAVOR (§6): thin over the reservation engine. Each route
 * also takes the FLUIDOS node's dialect (§13, fluidos-dialect.ts): a reservation in it is read
 * as REAR's, and its transaction is answered in it from then on (the dialect is stored with it).
 * Answers are serialized here (one JSON text per dialect), so the response schemas list both.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Market } from '../../domain/market.js';
import type {
  FluidosPurchase,
  FluidosReservation,
  Purchase,
  Reservation,
  Transaction,
} from '../../types/wire.js';
import {
  contractToFluidos,
  isFluidosReservation,
  reservationFromFluidos,
  transactionToFluidos,
  type Dialect,
} from '../fluidos-dialect.js';
import { ERROR_RESPONSES, ID_PARAMS, JSON_TYPE, ref } from '../route-schemas.js';

/** Either dialect's body or answer: REAR's (first) or the FLUIDOS node's (§13). */
const EITHER = {
  reservation: { oneOf: [ref('Reservation'), ref('FluidosReservation')] },
  // Both spellings' purchase bodies are optional objects; {} is both.
  purchase: { anyOf: [ref('Purchase'), ref('FluidosPurchase')] },
  transaction: { anyOf: [ref('Transaction'), ref('FluidosTransaction')] },
  contract: { anyOf: [ref('Contract'), ref('FluidosContract')] },
} as const;

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
  const transactionJson = (tx: Transaction, dialect: Dialect | undefined): string =>
    dialect === 'fluidos' ? transactionToFluidos(tx) : reservations.transactionJson(tx);

  app.post<{ Body: Reservation | FluidosReservation }>(
    '/reservations',
    {
      schema: {
        body: EITHER.reservation,
        response: { 200: EITHER.transaction, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const wait = preferredWait(request.headers.prefer);
      if (wait !== undefined) reply.header('Preference-Applied', `wait=${wait}`);
      const body = request.body;
      const dialect: Dialect | undefined = isFluidosReservation(body) ? 'fluidos' : undefined;
      const tx = await reservations.reserve(
        request.principal,
        isFluidosReservation(body) ? reservationFromFluidos(body) : body,
        {
          ...(wait !== undefined ? { waitMs: wait * 1000 } : {}),
          signal: () => clientGone(request, reply),
          ...(dialect ? { dialect } : {}),
        },
      );
      // Answered in the request's dialect (a retry that finds a live hold included).
      return reply.type(JSON_TYPE).send(transactionJson(tx, dialect));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/transactions/:id',
    {
      schema: {
        params: ID_PARAMS('id'),
        response: { 200: EITHER.transaction, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { tx, dialect } = await reservations.transactionView(
        request.principal,
        request.params.id,
      );
      return reply.type(JSON_TYPE).send(transactionJson(tx, dialect));
    },
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

  app.post<{ Params: { id: string }; Body: Purchase | FluidosPurchase | undefined }>(
    '/transactions/:id/purchase',
    {
      config: { optionalBody: true },
      schema: {
        params: ID_PARAMS('id'),
        body: EITHER.purchase,
        response: { 200: EITHER.contract, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      // LiqoCredentials (either spelling) and the node's ingressTelemetryEndpoint are accepted
      // and deliberately not stored: credentials are secrets, and nothing here uses either.
      const { contractJson, replayed, dialect } = await reservations.purchase(
        request.principal,
        request.params.id,
      );
      if (replayed) reply.header('Idempotent-Replayed', 'true');
      // The JSON the store holds, byte for byte (or its deterministic translation for a
      // transaction reserved in the node's dialect): a replay answers exactly what the first did.
      return reply
        .type(JSON_TYPE)
        .send(dialect === 'fluidos' ? contractToFluidos(contractJson) : contractJson);
    },
  );
}
