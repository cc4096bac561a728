/** Row → stored value mappings that every SQL backend shares (its column names are the same). */
import type { StoredContract, StoredEvent, StoredTransaction } from './store.js';

export type Row = Record<string, unknown>;

export function toContract(r: Row): StoredContract {
  return {
    contractId: r.contract_id as string,
    transactionId: r.transaction_id as string,
    buyerId: r.buyer_id as string,
    sellerId: r.seller_id as string,
    createdAt: Number(r.created_at),
    json: r.json as string,
  };
}

export function toEvent(r: Row): StoredEvent {
  const e: StoredEvent = {
    seq: Number(r.seq),
    at: Number(r.at),
    flavorId: r.flavor_id as string,
    wire: r.wire as string,
  };
  if (r.prev !== null && r.prev !== undefined) e.prev = r.prev as string;
  if (r.buyer_id !== null && r.buyer_id !== undefined) e.buyerId = r.buyer_id as string;
  return e;
}

export function toTransaction(r: Row): StoredTransaction {
  const t: StoredTransaction = {
    transactionId: r.transaction_id as string,
    flavorId: r.flavor_id as string,
    buyerId: r.buyer_id as string,
    status: r.status as StoredTransaction['status'],
    expiresAt: Number(r.expires_at),
    json: r.json as string,
  };
  if (r.dialect === 'fluidos') t.dialect = 'fluidos';
  return t;
}
