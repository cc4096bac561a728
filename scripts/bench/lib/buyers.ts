/**
 * The bench's buyers: each consumer token is its buyer's node id (servers/hub.ts makes them
 * so), sent as a bearer token. The sale floors read the buyer back from the header, so their
 * rows name the request's buyer as the hub's do: with the sample's one buyer on every row,
 * each contract landed at one end of the contracts-by-buyer index, where the hub's 200 buyers
 * spread theirs over 200 places (P2's floor wrote 12.0 KB per request, the hub 15.4).
 */
const PREFIX = 'Bearer ';

/** The Authorization header of a buyer's requests. */
export function bearer(token: string): string {
  return `${PREFIX}${token}`;
}

/** The buyer's node id from a request's Authorization header. */
export function buyerOf(authorization: string | undefined): string {
  return (authorization ?? '').slice(PREFIX.length);
}
