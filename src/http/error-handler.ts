/**
 * Maps every error — the hub's own, fastify's validation, body-parsing and not-found paths —
 * onto the one error table, so every 4xx/5xx body is {statusCode, code, error, message}.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { HubError, type ErrorCode } from '../errors.js';
import { errorBody } from './error-body.js';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_REQUEST',
};

function classify(err: FastifyError): { code: ErrorCode; message?: string } {
  if (err instanceof HubError) return { code: err.code, message: err.message };
  if (err.validation) return { code: 'INVALID_REQUEST', message: err.message };
  const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
  if (mapped === 'PAYLOAD_TOO_LARGE' || mapped === 'UNSUPPORTED_MEDIA_TYPE')
    return { code: mapped };
  if (mapped) return { code: mapped, message: err.message };
  if (err instanceof SyntaxError)
    return { code: 'INVALID_REQUEST', message: 'The body is not valid JSON' };
  const status = err.statusCode ?? 500;
  if (status === 404) return { code: 'ROUTE_NOT_FOUND' };
  if (status === 413) return { code: 'PAYLOAD_TOO_LARGE' };
  if (status === 415) return { code: 'UNSUPPORTED_MEDIA_TYPE' };
  if (status === 503) return { code: 'UNAVAILABLE' };
  if (status >= 400 && status < 500) return { code: 'INVALID_REQUEST', message: err.message };
  return { code: 'INTERNAL' };
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { code, message } = classify(err);
    const body = errorBody(code, message);
    if (body.statusCode >= 500) request.log.error({ err }, 'request failed');
    if (err instanceof HubError) reply.headers(err.headers);
    reply.code(body.statusCode).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .send(
        errorBody('ROUTE_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`),
      );
  });
}
