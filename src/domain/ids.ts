/** Identifiers the hub assigns: a readable prefix and 16 url-safe random characters. */
import { nanoid } from 'nanoid';

export const newFlavorId = (): string => `fl-${nanoid(16)}`;
export const newTransactionId = (): string => `tx-${nanoid(16)}`;
export const newContractId = (): string => `ct-${nanoid(16)}`;
