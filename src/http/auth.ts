/**
 * Bearer-token authentication and a per-token rate limit, as one onRequest hook shared by
 * every /api/v2 route — the WebSocket upgrade included, so a bad token there is an HTTP 401
 * and never an upgrade.
 */
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { Clock } from '../clock.js';
import type { Principal } from '../domain/principal.js';
import { HubError } from '../errors.js';
import type { TokenEntry } from '../types/wire.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

export interface RateLimit {
  /** Sustained requests per second per token; 0 turns the limit off. */
  perSecond: number;
  /** Requests a token may make at once after being idle. */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export class TokenRegistry {
  private readonly byToken: Map<string, Principal>;

  constructor(entries: readonly TokenEntry[]) {
    this.byToken = new Map(entries.map((e) => [e.token, { role: e.role, identity: e.identity }]));
  }

  resolve(token: string | undefined): Principal | undefined {
    return token === undefined ? undefined : this.byToken.get(token);
  }

  get size(): number {
    return this.byToken.size;
  }
}

/** Builds the onRequest hook; `queryToken` lets browsers pass ?access_token= on an upgrade. */
export function authHook(tokens: TokenRegistry, clock: Clock, limit: RateLimit) {
  const buckets = new Map<string, Bucket>();
  // A callback hook, not an async one: the common path allocates no promise.
  return function authenticate(
    request: FastifyRequest,
    reply: FastifyReply,
    done: HookHandlerDoneFunction,
  ): void {
    const header = request.headers.authorization;
    let token = header ? BEARER.exec(header)?.[1] : undefined;
    if (token === undefined && request.routeOptions.config?.queryToken) {
      const q = request.query as Record<string, unknown> | undefined;
      if (typeof q?.access_token === 'string') token = q.access_token;
    }
    const principal = tokens.resolve(token);
    if (!principal) return done(new HubError('UNAUTHORIZED'));
    request.principal = principal;
    if (limit.perSecond > 0) {
      const now = clock.now();
      const b = buckets.get(token as string) ?? { tokens: limit.burst, at: now };
      b.tokens = Math.min(limit.burst, b.tokens + ((now - b.at) / 1000) * limit.perSecond);
      b.at = now;
      if (b.tokens < 1) {
        const wait = Math.max(1, Math.ceil((1 - b.tokens) / limit.perSecond));
        reply.header('Retry-After', String(wait));
        buckets.set(token as string, b);
        return done(
          new HubError(
            'RATE_LIMITED',
            `Over ${limit.perSecond} requests per second for this token`,
          ),
        );
      }
      b.tokens -= 1;
      buckets.set(token as string, b);
    }
    done();
  };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Accept ?access_token= as well as the Authorization header. */
    queryToken?: boolean;
  }
}
