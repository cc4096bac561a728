/**
 * Bearer-token authentication and a per-token rate limit, as one onRequest hook shared by
 * every /api/v2 route — the WebSocket upgrade included, so a bad token there is an HTTP 401
 * and never an upgrade. A token is looked up in the tokens file (clear or hashed entries);
 * one that is not there and looks like a JWT is verified against the JWK Set when one is
 * configured (jwt.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { Clock } from '../clock.js';
import type { Principal } from '../domain/principal.js';
import { HubError } from '../errors.js';
import type { TokenEntry } from '../types/wire.js';
import { JwtVerifier } from './jwt.js';

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
  private readonly byToken = new Map<string, Principal>();
  /** Hashed entries by the hex of their SHA-256, with the digest to compare in constant time. */
  private readonly byHash = new Map<string, { digest: Buffer; principal: Principal }>();

  constructor(entries: readonly TokenEntry[]) {
    for (const e of entries) {
      const principal: Principal = { role: e.role, identity: e.identity };
      if ('token' in e) {
        this.byToken.set(e.token, principal);
      } else {
        const hex = e.tokenHash.slice('sha256:'.length);
        this.byHash.set(hex, { digest: Buffer.from(hex, 'hex'), principal });
      }
    }
  }

  resolve(token: string | undefined): Principal | undefined {
    if (token === undefined) return undefined;
    const clear = this.byToken.get(token);
    if (clear || this.byHash.size === 0) return clear;
    // Only the token's digest is looked up, so lookup timing says nothing about a stored
    // token; the final comparison is constant-time all the same.
    const digest = createHash('sha256').update(token).digest();
    const hit = this.byHash.get(digest.toString('hex'));
    return hit && timingSafeEqual(hit.digest, digest) ? hit.principal : undefined;
  }

  get size(): number {
    return this.byToken.size + this.byHash.size;
  }
}

/** Builds the onRequest hook; `queryToken` lets browsers pass ?access_token= on an upgrade. */
export function authHook(tokens: TokenRegistry, clock: Clock, limit: RateLimit, jwt?: JwtVerifier) {
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
    if (!principal) {
      if (jwt && token !== undefined && JwtVerifier.looksLikeJwt(token)) {
        jwt.verify(token).then(
          (p) => {
            request.principal = p;
            // Limited per identity: every fresh JWT of one caller shares its bucket.
            admit(`jwt:${p.identity.Domain}/${p.identity.NodeID}`, reply, done);
          },
          (err: unknown) => done(err as Error),
        );
        return;
      }
      return done(new HubError('UNAUTHORIZED'));
    }
    request.principal = principal;
    admit(token as string, reply, done);
  };

  function admit(key: string, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    if (limit.perSecond > 0) {
      const now = clock.now();
      const b = buckets.get(key) ?? { tokens: limit.burst, at: now };
      b.tokens = Math.min(limit.burst, b.tokens + ((now - b.at) / 1000) * limit.perSecond);
      b.at = now;
      if (b.tokens < 1) {
        const wait = Math.max(1, Math.ceil((1 - b.tokens) / limit.perSecond));
        reply.header('Retry-After', String(wait));
        buckets.set(key, b);
        return done(
          new HubError(
            'RATE_LIMITED',
            `Over ${limit.perSecond} requests per second for this token`,
          ),
        );
      }
      b.tokens -= 1;
      buckets.set(key, b);
    }
    done();
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Accept ?access_token= as well as the Authorization header. */
    queryToken?: boolean;
  }
}
