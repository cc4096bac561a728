/**
 * One WebSocket client: its socket, identity, subscription set and liveness. Sends are
 * guarded by a backlog bound, so a client that stops reading is cut off (1013) instead of
 * growing the hub's memory or slowing anyone else.
 */
import type { WebSocket } from 'ws';
import type { Principal } from '../domain/principal.js';
import { CLOSE_CODES } from '../errors.js';
import type { Recipient, Subscription } from './subscriptions.js';

export interface ConnectionLimits {
  /** Unsent bytes a client may fall behind by before it is closed with 1013. */
  maxBacklogBytes: number;
  /** How long a closing client has to finish the close handshake before it is dropped. */
  closeGraceMs: number;
}

export class Connection implements Recipient {
  readonly buyerId: string;
  readonly subs = new Map<string, Subscription<Connection>>();
  alive = true;
  private closing = false;
  private killTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: WebSocket,
    readonly principal: Principal,
    private readonly limits: ConnectionLimits,
  ) {
    this.buyerId = principal.identity.NodeID;
    socket.once('close', () => this.clearKillTimer());
  }

  get open(): boolean {
    return !this.closing && this.socket.readyState === this.socket.OPEN;
  }

  /** Sends one text frame; closes the client with 1013 if it has fallen too far behind. */
  send(data: string | Buffer): void {
    if (!this.open) return;
    if (this.socket.bufferedAmount > this.limits.maxBacklogBytes) {
      this.close(CLOSE_CODES.TRY_AGAIN_LATER.code, 'backlog over bound');
      return;
    }
    this.socket.send(data, { binary: false });
  }

  /** Starts the close handshake and drops the socket if it does not complete in time. Safe twice. */
  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.socket.close(code, reason);
    this.killTimer = setTimeout(() => this.socket.terminate(), this.limits.closeGraceMs);
    this.killTimer.unref();
  }

  private clearKillTimer(): void {
    if (this.killTimer) clearTimeout(this.killTimer);
    this.killTimer = undefined;
  }
}
