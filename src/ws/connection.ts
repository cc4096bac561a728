/**
 * One WebSocket client: its socket, identity, subscription set and liveness. Sends are
 * guarded by a backlog bound, so a client that stops reading is cut off (1013) instead of
 * growing the hub's memory or slowing anyone else.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { TimerHandle } from '../clock.js';
import type { Principal } from '../domain/principal.js';
import { CLOSE_CODES } from '../errors.js';
import { PING_FRAME } from './frame.js';
import type { PingSlot } from './ping-wheel.js';
import type { Subscriber, Target } from './subscriptions.js';

export interface ConnectionLimits {
  /** Unsent bytes a client may fall behind by before it is closed with 1013. */
  maxBacklogBytes: number;
  /** How long a closing client has to finish the close handshake before it is dropped. */
  closeGraceMs: number;
}

/** What a connection reports to (the hub): its socket's listeners are shared, not closures. */
export interface ConnectionOwner {
  onMessage(conn: Connection, data: Buffer, isBinary: boolean): void;
  drop(conn: Connection, code: number): void;
}

export class Connection implements Subscriber, PingSlot {
  readonly buyerId: string;
  /** The subscription set, kept by the hub's SubscriptionIndex. */
  subs: Array<number | Target> = [];
  alive = true;
  /** Its slice of the hub's ping wheel (ping-wheel.ts). */
  pingSlice = 0;
  /** The close code the hub sent (or ws sent for a protocol error), once closing. */
  closedWith: number | undefined;
  /** Closes the connection when its JWT expires. */
  expiry: TimerHandle | undefined;
  /**
   * Set while a resume of this connection reads the store: the frames that came meanwhile,
   * answered in order once it is done (WsHub.onMessage).
   */
  waiting: Array<{ data: Buffer; isBinary: boolean }> | undefined;
  private closing = false;
  private killTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: WebSocket,
    /** The TCP socket under it, which the hub corks while it fans out. */
    readonly tcp: Duplex,
    readonly principal: Principal,
    readonly owner: ConnectionOwner,
    private readonly limits: ConnectionLimits,
  ) {
    this.buyerId = principal.identity.NodeID;
  }

  get open(): boolean {
    return !this.closing && this.socket.readyState === this.socket.OPEN;
  }

  /** Sends one text frame; closes the client with 1013 if it has fallen too far behind. */
  send(data: string | Buffer): void {
    if (this.admits()) this.socket.send(data, { binary: false });
  }

  /**
   * Sends a frame already built (ws/frame.ts), straight to the TCP socket: fan-out frames an
   * event once for all its recipients. Safe beside `send` because ws, without compression and
   * with no Blob ever sent, writes every frame to the socket at once, so both keep one order.
   */
  sendFrame(frame: Buffer): void {
    if (this.admits()) this.tcp.write(frame);
  }

  /** A protocol ping; the client's pong marks it alive (the hub's onPong). */
  ping(): void {
    if (this.open) this.tcp.write(PING_FRAME);
  }

  private admits(): boolean {
    if (!this.open) return false;
    // ws counts what waits in the TCP socket's buffer, direct writes included.
    if (this.socket.bufferedAmount > this.limits.maxBacklogBytes) {
      this.close(CLOSE_CODES.TRY_AGAIN_LATER.code, 'backlog over bound');
      return false;
    }
    return true;
  }

  /** Starts the close handshake and drops the socket if it does not complete in time. Safe twice. */
  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.closedWith ??= code;
    this.socket.close(code, reason);
    this.killTimer = setTimeout(() => this.socket.terminate(), this.limits.closeGraceMs);
    this.killTimer.unref();
  }

  /** Called once the socket has closed. */
  dispose(): void {
    if (this.killTimer) clearTimeout(this.killTimer);
    this.killTimer = undefined;
    this.expiry?.cancel();
    this.expiry = undefined;
  }
}
