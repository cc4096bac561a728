/**
 * `rear-hub/client`: the hub's typed client for Node 20+ and browsers (no Node-only import).
 * REST calls with typed errors and polite retries, one shared WebSocket with resumable
 * subscriptions, and an agent that keeps the best matching offer bought.
 */
export { RearHub, selectorQuery } from './client.js';
export type { FlavorTypeSpelling, ListOptions, RearHubOptions, ReserveOptions } from './client.js';
export * from './errors.js';
export { fullJitter, REQUEST_BACKOFF, RECONNECT_BACKOFF, type Backoff } from './backoff.js';
export type { RequestOptions, RestOptions } from './rest.js';
export { RestClient } from './rest.js';
export type {
  ConnectionEvents,
  ConnectionState,
  LiveConnection,
  WebSocketConstructor,
  WebSocketLike,
} from './live.js';
export type {
  FlavorEvent,
  Subscription,
  SubscribedContext,
  SubscriptionEvents,
  SubscriptionItem,
  SubscriptionOptions,
  SubscriptionState,
  SubscriptionTarget,
} from './subscription.js';
export { Agent, cheapest, type AgentEvents, type AgentOptions } from './agent.js';
export { verifyContract, type ContractVerification } from './verify.js';
export type * from '../types/wire.js';
