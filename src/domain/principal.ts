/** Who is calling: a role and a REAR node identity, resolved from a bearer token. */
import type { NodeIdentity, TokenEntry } from '../types/wire.js';

export type Role = TokenEntry['role'];

export interface Principal {
  readonly role: Role;
  readonly identity: NodeIdentity;
  /** When the credential stops being valid (ms since epoch): set for JWTs, not for tokens. */
  readonly expiresAt?: number;
}

export function nodeId(p: Principal): string {
  return p.identity.NodeID;
}

export function canPublish(p: Principal): boolean {
  return p.role === 'provider' || p.role === 'admin';
}

/** Owner provider or admin. */
export function canManage(p: Principal, providerId: string): boolean {
  return p.role === 'admin' || (p.role === 'provider' && p.identity.NodeID === providerId);
}
