/**
 * JWT bearer tokens from an identity provider (§11): verified against its JWK Set (jose's
 * remote set, which caches the keys and refetches — at most once per cool-down — when a token
 * names a `kid` it does not hold, so a key rotation at the issuer is picked up), with pinned
 * algorithms, issuer, audience and expiry. Role and identity come from the `rear_role` and
 * `rear_identity` claims. Every failure is a 401 whose message says why.
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { Clock } from '../clock.js';
import type { Principal, Role } from '../domain/principal.js';
import { HubError } from '../errors.js';
import { lazyValidator } from '../schemas.js';
import type { NodeIdentity } from '../types/wire.js';

export interface JwtOptions {
  /** The identity provider's JWK Set (https, or http on a trusted network). */
  jwksUrl: string;
  /** Required `iss`; any when left out. */
  issuer?: string | undefined;
  /** Required `aud`; any when left out. */
  audience?: string | undefined;
  /** Leeway on exp/nbf/iat for clocks that disagree a little, seconds. */
  clockToleranceSeconds?: number;
  /** Least time between two fetches of the set on an unknown kid, ms. */
  cooldownMs?: number;
  /** How long fetched keys are trusted before the set is fetched again, ms. */
  cacheMaxAgeMs?: number;
}

/** The algorithms a token may be signed with; anything else (none, HS256, …) is refused. */
export const JWT_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const;

export const JWT_DEFAULTS = {
  clockToleranceSeconds: 5,
  cooldownMs: 30_000,
  cacheMaxAgeMs: 10 * 60_000,
  fetchTimeoutMs: 5_000,
} as const;

const ROLES: readonly Role[] = ['consumer', 'provider', 'admin'];
const validIdentity = lazyValidator<NodeIdentity>('NodeIdentity');
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** jose's error codes, and what a client is told for each. */
const REASONS: Record<string, string> = {
  ERR_JWT_EXPIRED: 'The JWT has expired',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'The JWT signature is not valid',
  ERR_JOSE_ALG_NOT_ALLOWED: `The JWT is signed with an algorithm that is not allowed (${JWT_ALGORITHMS.join(', ')})`,
  ERR_JWKS_NO_MATCHING_KEY: 'No key of the JWK Set matches the JWT (unknown kid)',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS:
    'Several keys of the JWK Set match the JWT; it must name its kid',
  ERR_JWKS_TIMEOUT: 'The JWK Set of the identity provider could not be fetched in time',
  ERR_JWKS_INVALID: 'The JWK Set of the identity provider is not valid',
  ERR_JWS_INVALID: 'The JWT is malformed',
  ERR_JWT_INVALID: 'The JWT is malformed',
  ERR_JOSE_NOT_SUPPORTED: 'The JWT uses a key or algorithm the hub does not support',
};

const CLAIMS: Record<string, string> = {
  iss: 'The JWT has the wrong issuer',
  aud: 'The JWT has the wrong audience',
  nbf: 'The JWT is not valid yet (nbf)',
  iat: 'The JWT was issued in the future (iat)',
  exp: 'The JWT has no expiry (exp)',
};

export class JwtVerifier {
  private readonly keys: ReturnType<typeof createRemoteJWKSet>;
  private readonly tolerance: number;

  constructor(
    private readonly options: JwtOptions,
    private readonly clock: Clock,
  ) {
    this.keys = createRemoteJWKSet(new URL(options.jwksUrl), {
      cooldownDuration: options.cooldownMs ?? JWT_DEFAULTS.cooldownMs,
      cacheMaxAge: options.cacheMaxAgeMs ?? JWT_DEFAULTS.cacheMaxAgeMs,
      timeoutDuration: JWT_DEFAULTS.fetchTimeoutMs,
    });
    this.tolerance = options.clockToleranceSeconds ?? JWT_DEFAULTS.clockToleranceSeconds;
  }

  /** Whether a bearer token has the shape of a JWT (three base64url parts). */
  static looksLikeJwt(token: string): boolean {
    return token.startsWith('eyJ') && COMPACT_JWS.test(token);
  }

  /** The principal a valid JWT names; a HubError UNAUTHORIZED saying why otherwise. */
  async verify(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        algorithms: [...JWT_ALGORITHMS],
        ...(this.options.issuer !== undefined ? { issuer: this.options.issuer } : {}),
        ...(this.options.audience !== undefined ? { audience: this.options.audience } : {}),
        requiredClaims: ['exp'],
        clockTolerance: this.tolerance,
        currentDate: new Date(this.clock.now()),
      }));
    } catch (err) {
      throw new HubError('UNAUTHORIZED', reason(err));
    }
    const role = payload.rear_role;
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
      throw new HubError(
        'UNAUTHORIZED',
        `The JWT lacks a valid rear_role claim (one of ${ROLES.join(', ')})`,
      );
    }
    const identity = payload.rear_identity;
    if (!validIdentity(identity)) {
      throw new HubError(
        'UNAUTHORIZED',
        'The JWT lacks a valid rear_identity claim (a NodeIdentity: Domain, NodeID, IP)',
      );
    }
    return {
      role: role as Role,
      identity,
      expiresAt: (payload.exp as number) * 1000,
    };
  }
}

function reason(err: unknown): string {
  const e = err as { code?: string; claim?: string; reason?: string; name?: string };
  if (e.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
    if (e.reason === 'missing' && e.claim) return `The JWT lacks the ${e.claim} claim`;
    return (e.claim && CLAIMS[e.claim]) ?? `The JWT's ${e.claim ?? 'claims'} claim is not valid`;
  }
  if (e.code && REASONS[e.code]) return REASONS[e.code] as string;
  // A network failure reaching the JWK Set (fetch rejects with a TypeError).
  if (e.name === 'TypeError' || e.name === 'AbortError')
    return 'The JWK Set of the identity provider could not be fetched';
  return 'The JWT could not be verified';
}
