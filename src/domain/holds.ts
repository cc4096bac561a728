/**
 * The rules of holds and sales that every backend applies: who may reserve for whom, which
 * request is a retry of which, the row a hold is stored as, what a buyer who must not wait is
 * told, and the Contract a sale makes.
 */
import { toRfc3339 } from '../clock.js';
import { HubError } from '../errors.js';
import type { StoredTransaction } from '../store/store.js';
import type {
  Configuration,
  Contract,
  Flavor,
  NodeIdentity,
  Reservation,
  Transaction,
} from '../types/wire.js';
import { jsonId, newContractId } from './ids.js';
import { nodeId, type Principal } from './principal.js';

/** The buyer a reservation is for: the caller, unless it names someone else (403). */
export function buyerOf(principal: Principal, body: Reservation): NodeIdentity {
  const buyer = body.Buyer ?? principal.identity;
  if (buyer.NodeID !== principal.identity.NodeID || buyer.Domain !== principal.identity.Domain) {
    throw new HubError('FORBIDDEN', 'Buyer must be the caller');
  }
  return buyer;
}

/** buyer|flavor|configuration: the same request again finds the same hold or place in line. */
export function holdKey(
  buyerId: string,
  flavorId: string,
  config: Configuration | undefined,
): string {
  // U+001F: JSON text never holds it raw, and PostgreSQL text cannot hold U+0000.
  return `${buyerId}\u001f${flavorId}\u001f${config ? JSON.stringify(config) : ''}`;
}

/** Whether the caller may see or cancel a buyer's transaction. */
export function visible(principal: Principal, buyerId: string): boolean {
  return principal.role === 'admin' || nodeId(principal) === buyerId;
}

/** The Configuration's JSON a holdKey ends with ('' for none): made once, read back. */
export function configJsonOf(key: string, buyerId: string, flavorId: string): string {
  return key.slice(buyerId.length + flavorId.length + 2);
}

/**
 * A new hold's row JSON: JSON.stringify of newTransaction's Transaction without its Status
 * (which lives in its own column), written from its parts in newTransaction's order: the ids
 * quoted, the time as it is (RFC 3339 holds nothing JSON escapes), the Configuration's JSON
 * as its hold's key already holds it (configJsonOf).
 */
export function newTransactionRowJson(tx: Transaction, configJson: string): string {
  const config = configJson === '' ? '' : `,"Configuration":${configJson}`;
  return (
    `{"TransactionID":${jsonId(tx.TransactionID)},"FlavorID":${jsonId(tx.FlavorID)},` +
    `"Buyer":${JSON.stringify(tx.Buyer)},"ExpirationTime":"${tx.ExpirationTime}"${config}}`
  );
}

/** A held Transaction's JSON: its row's with Status, which newTransaction writes last. */
export function reservedJson(rowJson: string): string {
  return `${rowJson.slice(0, -1)},"Status":"reserved"}`;
}

/** The Transaction's JSON without its Status, serialized. */
function rowJson(tx: Transaction): string {
  // `delete` would turn the copy into a slow dictionary object.
  const { Status: _status, ...rest } = tx;
  return JSON.stringify(rest);
}

/** A new hold's Transaction. */
export function newTransaction(
  id: string,
  buyer: NodeIdentity,
  flavorId: string,
  expiresAt: number,
  configuration: Configuration | undefined,
): Transaction {
  return {
    TransactionID: id,
    FlavorID: flavorId,
    Buyer: buyer,
    ExpirationTime: toRfc3339(expiresAt),
    ...(configuration ? { Configuration: configuration } : {}),
    Status: 'reserved',
  };
}

/**
 * A new hold's row; a request in the FLUIDOS node's dialect (§13) is remembered as such.
 * `json`, when the caller has it, is the row's JSON (newTransactionRowJson).
 */
export function storedTx(
  tx: Transaction,
  buyerId: string,
  expiresAt: number,
  dialect?: 'fluidos',
  json: string = rowJson(tx),
): StoredTransaction {
  return {
    transactionId: tx.TransactionID,
    flavorId: tx.FlavorID,
    buyerId,
    status: 'reserved',
    expiresAt,
    json,
    // Only a dialect request's row carries the field (§13).
    ...(dialect ? { dialect } : {}),
  };
}

/**
 * A new hold's row, as both markets store it: its JSON written from its parts, with the
 * Configuration's JSON its key was made with (newTransactionRowJson, configJsonOf).
 */
export function newHoldRow(
  tx: Transaction,
  key: string,
  buyerId: string,
  expiresAt: number,
  dialect?: 'fluidos',
): StoredTransaction {
  const json = newTransactionRowJson(tx, configJsonOf(key, buyerId, tx.FlavorID));
  return storedTx(tx, buyerId, expiresAt, dialect, json);
}

/** 409 for a buyer who will not wait, with Retry-After: when the soonest hold ends. */
export function reservedError(now: number, holdEnds: readonly number[]): HubError {
  const soonest = Math.min(...holdEnds);
  const seconds = Number.isFinite(soonest) ? Math.max(1, Math.ceil((soonest - now) / 1000)) : 1;
  return new HubError('FLAVOR_RESERVED', 'Another buyer holds this flavor', {
    'Retry-After': String(seconds),
  });
}

/** The Contract of a sale: the flavor as sold, its seller, and how long it runs. */
export function makeContract(
  tx: Transaction,
  sold: Flavor,
  seller: Flavor['owner'],
  now: number,
  contractMs: number,
): Contract {
  return {
    ContractID: newContractId(now),
    TransactionID: tx.TransactionID,
    Flavor: sold,
    Buyer: tx.Buyer,
    Seller: {
      Domain: seller.domain,
      NodeID: seller.nodeId,
      IP: seller.ip,
      ...(seller.additionalInformation
        ? { AdditionalInformation: seller.additionalInformation }
        : {}),
    },
    ...(tx.Configuration ? { Configuration: tx.Configuration } : {}),
    ExpirationTime: toRfc3339(now + contractMs),
    Timestamp: toRfc3339(now),
  };
}
