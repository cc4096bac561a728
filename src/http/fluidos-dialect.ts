/**
 * The FLUIDOS node's dialect (§13), translated at the transport edge: its reservation body is
 * read as REAR's Reservation before the domain sees it, and a transaction reserved in it is
 * answered in it (reserve, read, purchase and the purchase's replay). The spellings follow the
 * node's Go structs (fluidos-project/node, pkg/utils/models: reservation.go, gateway.go,
 * models.go, flavor-k8slice-models.go, flavor-service-*.go) — its json tags, which Go matches
 * to keys ignoring case. Kubeconfigs and credentials are dropped here and never reach the store.
 *
 * Every function is pure and deterministic: the same stored JSON gives the same bytes, so a
 * replayed purchase answers exactly what the first one did.
 */
import type {
  Configuration,
  Contract,
  Flavor,
  FluidosConfiguration,
  FluidosNodeIdentity,
  FluidosReservation,
  NodeIdentity,
  Owner,
  Reservation,
  Transaction,
} from '../types/wire.js';

export type Dialect = 'fluidos';

type Obj = Record<string, unknown>;

/** Whether a reservation body is in the node's dialect (its schema requires flavorID). */
export function isFluidosReservation(
  body: Reservation | FluidosReservation,
): body is FluidosReservation {
  return 'flavorID' in body;
}

/** The node's ReserveRequest as REAR's Reservation; its kubeconfig is dropped here. */
export function reservationFromFluidos(body: FluidosReservation): Reservation {
  const b = body.buyerID;
  const liqoID = b.additionalInformation?.liqoID;
  return {
    FlavorID: body.flavorID,
    Buyer: {
      Domain: b.domain,
      NodeID: b.ID,
      IP: b.IP,
      ...(liqoID ? { AdditionalInformation: { LiqoID: liqoID } } : {}),
    },
    ...(body.configuration ? { Configuration: configurationFromFluidos(body.configuration) } : {}),
  };
}

/**
 * A node's Configuration as REAR's. Only a service's data is spelled differently (the node's
 * ServiceConfiguration is {hostingPolicy?, configurationData}); a k8slice's is REAR's own.
 */
export function configurationFromFluidos(c: FluidosConfiguration): Configuration {
  if (c.type !== 'service') return { type: c.type, data: c.data };
  const { hostingPolicy, configurationData, ...rest } = c.data as Obj;
  return {
    type: 'service',
    data: {
      ...rest,
      ...(hostingPolicy !== undefined ? { HostingPolicy: hostingPolicy } : {}),
      ...(configurationData !== undefined ? { ConfigurationData: configurationData } : {}),
    },
  };
}

function configurationToFluidos(c: Configuration): FluidosConfiguration {
  if (c.type !== 'service') return { type: c.type, data: c.data };
  const { HostingPolicy, ConfigurationData, ...rest } = c.data as Obj;
  return {
    type: 'service',
    data: {
      ...rest,
      ...(HostingPolicy !== undefined ? { hostingPolicy: HostingPolicy } : {}),
      ...(ConfigurationData !== undefined ? { configurationData: ConfigurationData } : {}),
    },
  };
}

function liqoIdOf(info: Obj | undefined): string | undefined {
  const v = info?.LiqoID ?? info?.liqoID;
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A NodeIdentity (or a Flavor's owner) as the node's models.NodeIdentity. */
function identityToFluidos(n: NodeIdentity | Owner): FluidosNodeIdentity {
  const [id, domain, ip, info] =
    'NodeID' in n
      ? [n.NodeID, n.Domain, n.IP, n.AdditionalInformation]
      : [n.nodeId, n.domain, n.ip, n.additionalInformation];
  const liqoID = liqoIdOf(info);
  return {
    ID: id,
    IP: ip,
    domain,
    ...(liqoID ? { additionalInformation: { liqoID } } : {}),
  };
}

/** The Transaction's JSON in the node's dialect (models.Transaction, plus the hub's status). */
export function transactionToFluidos(tx: Transaction): string {
  const clusterID = liqoIdOf(tx.Buyer.AdditionalInformation);
  return JSON.stringify({
    transactionID: tx.TransactionID,
    flavorID: tx.FlavorID,
    ...(tx.Configuration ? { configuration: configurationToFluidos(tx.Configuration) } : {}),
    buyer: identityToFluidos(tx.Buyer),
    ...(clusterID ? { clusterID } : {}),
    expirationTime: tx.ExpirationTime,
    status: tx.Status,
  });
}

/**
 * A Flavor as the node's models.Flavor reads it. Besides the renamed fields, the type data
 * carries what the node's own structs look for: a k8slice's characteristics also under
 * `charateristics` (the node's json tag, misspelt), a service's Characteristics also flattened
 * into its data (the node's ServiceFlavor is flat), and a location's country also as
 * `altitude` (the node's tag for Country). REAR's spellings stay beside them.
 */
export function flavorToFluidos(f: Flavor): Obj {
  const t = f.type;
  let data: Obj = t.data as unknown as Obj;
  if (t.name === 'k8slice') data = { ...data, charateristics: t.data.characteristics };
  else if (t.name === 'service') data = { ...data, ...t.data.Characteristics };
  return {
    flavorID: f.flavorId,
    providerID: f.providerId,
    type: { name: t.name, data },
    ...(f.networkPropertyType !== undefined ? { networkPropertyType: f.networkPropertyType } : {}),
    timestamp: f.timestamp,
    ...(f.location
      ? {
          location: {
            ...f.location,
            ...(f.location.country !== undefined ? { altitude: f.location.country } : {}),
          },
        }
      : {}),
    price: f.price,
    owner: identityToFluidos(f.owner),
    availability: f.availability,
    expirationTime: f.expirationTime,
  };
}

/**
 * The stored (signed) Contract's JSON in the node's dialect (models.Contract). `signature` is
 * the contract's own §12 signature, whose payload is the REAR-spelled contract. No
 * peeringTargetCredentials: the hub holds no cluster credentials (docs/fluidos.md).
 */
export function contractToFluidos(contractJson: string): string {
  const c = JSON.parse(contractJson) as Contract;
  return JSON.stringify({
    contractID: c.ContractID,
    transactionID: c.TransactionID,
    flavor: flavorToFluidos(c.Flavor),
    buyerID: identityToFluidos(c.Buyer),
    buyerClusterID: liqoIdOf(c.Buyer.AdditionalInformation) ?? '',
    seller: identityToFluidos(c.Seller),
    expirationTime: c.ExpirationTime,
    ...(c.Configuration ? { configuration: configurationToFluidos(c.Configuration) } : {}),
    signature: c.Signature ?? '',
  });
}
