/**
 * The FLUIDOS node's REAR client as data: its Go structs' json tags, transcribed field by field
 * from fluidos-project/node at commit 9018b69069ae045a4e6456b7a9b58665f62ff28d
 * (pkg/utils/models/{models,reservation,gateway,flavor-k8slice-models,
 * flavor-k8slice-configuration-models,flavor-service-configuration-models}.go), and its HTTP
 * calls as pkg/rear-controller/gateway/{client,services}.go make them (http.Client{} with
 * req.Close = true, Content-Type only on POST). Tests build requests from these, never from
 * the hub's own types, and decode answers through them with go-json.ts.
 */
import { connect } from 'node:net';
import type { GoStruct, GoType } from './go-json.js';

const S = 'string' as const;

// models.go
export const NodeIdentityAdditionalInfo: GoStruct = [
  { name: 'LiqoID', tag: 'liqoID', type: S, omitempty: true },
  { name: 'Kubeconfig', tag: 'kubeconfig', type: S, omitempty: true },
];
export const NodeIdentity: GoStruct = [
  { name: 'NodeID', tag: 'ID', type: S },
  { name: 'IP', tag: 'IP', type: S },
  { name: 'Domain', tag: 'domain', type: S },
  {
    name: 'AdditionalInformation',
    tag: 'additionalInformation',
    type: { ptr: { struct: NodeIdentityAdditionalInfo } },
    omitempty: true,
  },
];
export const FlavorType: GoStruct = [
  { name: 'Name', tag: 'name', type: S },
  { name: 'Data', tag: 'data', type: 'raw' },
];
export const Location: GoStruct = [
  { name: 'Latitude', tag: 'latitude', type: S, omitempty: true },
  { name: 'Longitude', tag: 'longitude', type: S, omitempty: true },
  // Sic: the node tags Country "altitude".
  { name: 'Country', tag: 'altitude', type: S, omitempty: true },
  { name: 'City', tag: 'city', type: S, omitempty: true },
  { name: 'AdditionalNotes', tag: 'additionalNotes', type: S, omitempty: true },
];
export const Price: GoStruct = [
  { name: 'Amount', tag: 'amount', type: S },
  { name: 'Currency', tag: 'currency', type: S },
  { name: 'Period', tag: 'period', type: S },
];
export const Flavor: GoStruct = [
  { name: 'FlavorID', tag: 'flavorID', type: S },
  { name: 'ProviderID', tag: 'providerID', type: S },
  { name: 'Type', tag: 'type', type: { struct: FlavorType } },
  { name: 'NetworkPropertyType', tag: 'networkPropertyType', type: S, omitempty: true },
  { name: 'Timestamp', tag: 'timestamp', type: 'time' },
  { name: 'Location', tag: 'location', type: { ptr: { struct: Location } }, omitempty: true },
  { name: 'Price', tag: 'price', type: { struct: Price } },
  { name: 'Owner', tag: 'owner', type: { struct: NodeIdentity } },
  { name: 'Availability', tag: 'availability', type: 'bool' },
];
export const CarbonFootprint: GoStruct = [
  { name: 'Embodied', tag: 'embodied', type: 'int' },
  { name: 'Operational', tag: 'operational', type: { slice: 'int' } },
];

// flavor-k8slice-models.go
export const GpuCharacteristics: GoStruct = [
  { name: 'Model', tag: 'model', type: S },
  { name: 'Cores', tag: 'cores', type: 'quantity' },
  { name: 'Memory', tag: 'memory', type: 'quantity' },
];
export const K8SliceCharacteristics: GoStruct = [
  { name: 'Architecture', tag: 'architecture', type: S },
  { name: 'CPU', tag: 'cpu', type: 'quantity' },
  { name: 'Memory', tag: 'memory', type: 'quantity' },
  { name: 'Pods', tag: 'pods', type: 'quantity' },
  { name: 'Gpu', tag: 'gpu', type: { ptr: { struct: GpuCharacteristics } }, omitempty: true },
  { name: 'Storage', tag: 'storage', type: { ptr: 'quantity' }, omitempty: true },
];
export const K8SliceProperties: GoStruct = [
  { name: 'Latency', tag: 'latency', type: 'int', omitempty: true },
  { name: 'SecurityStandards', tag: 'securityStandards', type: { slice: S }, omitempty: true },
  {
    name: 'CarbonFootprint',
    tag: 'carbonFootprint',
    type: { ptr: { struct: CarbonFootprint } },
    omitempty: true,
  },
  { name: 'NetworkAuthorizations', tag: 'networkAuthorizations', type: 'raw', omitempty: true },
  { name: 'AdditionalProperties', tag: 'additionalProperties', type: 'raw', omitempty: true },
];
export const K8SlicePartitionability: GoStruct = [
  { name: 'CPUMin', tag: 'cpuMin', type: 'quantity' },
  { name: 'MemoryMin', tag: 'memoryMin', type: 'quantity' },
  { name: 'PodsMin', tag: 'podsMin', type: 'quantity' },
  { name: 'CPUStep', tag: 'cpuStep', type: 'quantity' },
  { name: 'MemoryStep', tag: 'memoryStep', type: 'quantity' },
  { name: 'PodsStep', tag: 'podsStep', type: 'quantity' },
];
export const K8Slice: GoStruct = [
  // Sic: the node's tag is "charateristics".
  { name: 'Characteristics', tag: 'charateristics', type: { struct: K8SliceCharacteristics } },
  { name: 'Properties', tag: 'properties', type: { struct: K8SliceProperties } },
  {
    name: 'Policies',
    tag: 'policies',
    type: {
      struct: [
        {
          name: 'Partitionability',
          tag: 'partitionability',
          type: { struct: K8SlicePartitionability },
        },
      ],
    },
  },
];
// flavor-k8slice-configuration-models.go
export const K8SliceConfiguration: GoStruct = [
  { name: 'CPU', tag: 'cpu', type: 'quantity' },
  { name: 'Memory', tag: 'memory', type: 'quantity' },
  { name: 'Pods', tag: 'pods', type: 'quantity' },
  { name: 'Gpu', tag: 'gpu', type: { ptr: { struct: GpuCharacteristics } }, omitempty: true },
  { name: 'Storage', tag: 'storage', type: { ptr: 'quantity' }, omitempty: true },
];
// flavor-service-models.go (flat: no Characteristics level)
export const ServiceFlavor: GoStruct = [
  { name: 'Name', tag: 'name', type: S },
  { name: 'Description', tag: 'description', type: S },
  { name: 'Category', tag: 'category', type: S },
  { name: 'Tags', tag: 'tags', type: { slice: S } },
  { name: 'HostingPolicies', tag: 'hostingPolicies', type: { slice: S } },
  { name: 'ConfigurationTemplate', tag: 'configurationTemplate', type: 'raw' },
];
// flavor-service-configuration-models.go
export const ServiceConfiguration: GoStruct = [
  { name: 'HostingPolicy', tag: 'hostingPolicy', type: { ptr: S }, omitempty: true },
  { name: 'ConfigurationData', tag: 'configurationData', type: 'raw' },
];

// reservation.go
export const Configuration: GoStruct = [
  { name: 'Type', tag: 'type', type: S },
  { name: 'Data', tag: 'data', type: 'raw' },
];
export const Transaction: GoStruct = [
  { name: 'TransactionID', tag: 'transactionID', type: S },
  { name: 'FlavorID', tag: 'flavorID', type: S },
  {
    name: 'Configuration',
    tag: 'configuration',
    type: { ptr: { struct: Configuration } },
    omitempty: true,
  },
  { name: 'Buyer', tag: 'buyer', type: { struct: NodeIdentity } },
  { name: 'ClusterID', tag: 'clusterID', type: S },
  { name: 'ExpirationTime', tag: 'expirationTime', type: S },
];
export const TelemetryServer: GoStruct = [
  { name: 'Endpoint', tag: 'endpoint', type: S },
  { name: 'Intents', tag: 'intents', type: { slice: S } },
];
export const LiqoCredentials: GoStruct = [
  { name: 'ClusterID', tag: 'clusterID', type: S },
  { name: 'Kubeconfig', tag: 'kubeconfig', type: S },
];
export const Contract: GoStruct = [
  { name: 'ContractID', tag: 'contractID', type: S },
  { name: 'TransactionID', tag: 'transactionID', type: S },
  { name: 'Flavor', tag: 'flavor', type: { struct: Flavor } },
  { name: 'Buyer', tag: 'buyerID', type: { struct: NodeIdentity } },
  { name: 'BuyerClusterID', tag: 'buyerClusterID', type: S },
  { name: 'Seller', tag: 'seller', type: { struct: NodeIdentity } },
  {
    name: 'PeeringTargetCredentials',
    tag: 'peeringTargetCredentials',
    type: { struct: LiqoCredentials },
  },
  { name: 'ExpirationTime', tag: 'expirationTime', type: S, omitempty: true },
  { name: 'ExtraInformation', tag: 'extraInformation', type: { map: S }, omitempty: true },
  {
    name: 'Configuration',
    tag: 'configuration',
    type: { ptr: { struct: Configuration } },
    omitempty: true,
  },
  { name: 'NetworkRequests', tag: 'networkAuthorizations', type: S, omitempty: true },
  {
    name: 'IngressTelemetryEndpoint',
    tag: 'ingressTelemetryEndpoint',
    type: { ptr: { struct: TelemetryServer } },
    omitempty: true,
  },
];

// gateway.go
export const ReserveRequest: GoStruct = [
  { name: 'FlavorID', tag: 'flavorID', type: S },
  { name: 'Buyer', tag: 'buyerID', type: { struct: NodeIdentity } },
  {
    name: 'Configuration',
    tag: 'configuration',
    type: { ptr: { struct: Configuration } },
    omitempty: true,
  },
];
export const PurchaseRequest: GoStruct = [
  {
    name: 'LiqoCredentials',
    tag: 'liqoCredentials',
    type: { ptr: { struct: LiqoCredentials } },
    omitempty: true,
  },
  {
    name: 'IngressTelemetryEndpoint',
    tag: 'ingressTelemetryEndpoint',
    type: { ptr: { struct: TelemetryServer } },
    omitempty: true,
  },
];

export const st = (s: GoStruct): GoType => ({ struct: s });

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends one request as the node's Go client writes it on the wire — request line, Host,
 * User-Agent, Content-Length (when there is a body), Connection: close (req.Close = true),
 * Content-Type on POST, Accept-Encoding: gzip — plus an Authorization header, which the node
 * cannot send and a forward proxy in front of the hub adds (docs/fluidos.md). Reads the answer
 * until the hub closes the connection.
 */
export function goRequest(
  baseUrl: string,
  method: 'GET' | 'POST',
  pathAndQuery: string,
  body: string | undefined,
  token: string,
): Promise<RawResponse> {
  const { hostname, port, host } = new URL(baseUrl);
  const bytes = body === undefined ? undefined : Buffer.from(body);
  const lines = [
    `${method} ${pathAndQuery} HTTP/1.1`,
    `Host: ${host}`,
    'User-Agent: Go-http-client/1.1',
    ...(method === 'POST' ? [`Content-Length: ${bytes?.length ?? 0}`] : []),
    `Authorization: Bearer ${token}`,
    'Connection: close',
    ...(method === 'POST' ? ['Content-Type: application/json'] : []),
    'Accept-Encoding: gzip',
  ];
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.write(bytes ? Buffer.concat([head, bytes]) : head);
    });
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const split = raw.indexOf('\r\n\r\n');
      const [statusLine, ...headerLines] = raw.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of headerLines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      let payload = raw.slice(split + 4);
      if (headers['transfer-encoding'] === 'chunked') {
        let out = '';
        for (;;) {
          const nl = payload.indexOf('\r\n');
          const size = parseInt(payload.slice(0, nl), 16);
          if (!size) break;
          out += payload.slice(nl + 2, nl + 2 + size);
          payload = payload.slice(nl + 2 + size + 2);
        }
        payload = out;
      }
      resolve({ status: Number(statusLine?.split(' ')[1]), headers, body: payload });
    });
  });
}
