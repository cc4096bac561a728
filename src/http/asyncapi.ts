/**
 * The AsyncAPI 3.0 document of the WebSocket channel (§8, §10), built from schemas/ — the
 * same schemas the hub validates frames with. Every message is found by walking the
 * ClientMessage and ServerMessage unions (a message is a union member whose `type` is a
 * const), so a message added to a schema appears here with nothing else to edit.
 */
import { loadSchemas, type NamedSchema } from '../schemas.js';

/** The schemas whose union members are the frames of each direction. */
export const CLIENT_UNION = 'ClientMessage';
export const SERVER_UNION = 'ServerMessage';
export const WS_PATH = '/api/v2/subscriptions';

export interface WsMessage {
  /** The frame's `type`, e.g. SUBSCRIBE_FLAVOR. */
  type: string;
  /** The schema's title, e.g. SubscribeFlavorMessage: its name among the components. */
  schemaName: string;
  schema: Record<string, unknown>;
  direction: 'client' | 'server';
}

type Json = Record<string, unknown>;

/** Every frame of the channel, by walking the two unions. */
export function wsMessages(schemas: readonly NamedSchema[] = loadSchemas()): WsMessage[] {
  const byId = new Map(schemas.map((s) => [s.$id, s as Json]));
  const out: WsMessage[] = [];
  for (const [union, direction] of [
    [CLIENT_UNION, 'client'],
    [SERVER_UNION, 'server'],
  ] as const) {
    const members = (byId.get(union)?.oneOf ?? []) as Json[];
    for (const member of members) {
      const ref = typeof member.$ref === 'string' ? member.$ref.replace(/#$/, '') : undefined;
      const schema = ref ? byId.get(ref) : member;
      const type = ((schema?.properties as Json | undefined)?.type as Json | undefined)?.const;
      if (!schema || typeof type !== 'string') {
        throw new Error(`${union}: a member without a const type (${ref ?? 'inline'})`);
      }
      out.push({ type, schemaName: String(schema.title ?? ref ?? type), schema, direction });
    }
  }
  return out;
}

/** A schema with its cross-file refs ("Flavor#") pointed at the document's components. */
function componentized(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(componentized);
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$id') continue;
    if (key === '$ref' && typeof value === 'string') {
      out.$ref = `#/components/schemas/${value.replace(/#$/, '')}`;
    } else if (key === 'discriminator' && value && typeof value === 'object') {
      // AsyncAPI's schema object names the discriminating property with a plain string.
      out.discriminator = (value as { propertyName: string }).propertyName;
    } else {
      out[key] = componentized(value);
    }
  }
  return out;
}

const camel = (type: string) =>
  type.toLowerCase().replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

export interface AsyncApiOptions {
  /** host[:port] clients reach the hub at. */
  host: string;
  /** ws, or wss behind TLS. */
  protocol: 'ws' | 'wss';
  version: string;
}

export function buildAsyncApi(o: AsyncApiOptions): Json {
  const schemas: Json = {};
  for (const s of loadSchemas()) schemas[s.$id] = componentized(s);
  const frames = wsMessages();
  const messages: Json = {};
  const channelMessages: Json = {};
  const operations: Json = {};
  for (const m of frames) {
    // Inline union members (the server's frames) become components of their own.
    if (!(m.schemaName in schemas)) schemas[m.schemaName] = componentized(m.schema);
    messages[m.type] = {
      name: m.type,
      title: m.schemaName,
      summary:
        m.direction === 'client' ? `${m.type}: sent by a client` : `${m.type}: pushed by the hub`,
      ...(typeof m.schema.description === 'string' ? { description: m.schema.description } : {}),
      contentType: 'application/json',
      payload: { $ref: `#/components/schemas/${m.schemaName}` },
    };
    channelMessages[m.type] = { $ref: `#/components/messages/${m.type}` };
    const action = m.direction === 'client' ? 'receive' : 'send';
    operations[`${action}${camel(m.type).replace(/^./, (c) => c.toUpperCase())}`] = {
      action,
      title: `${action === 'receive' ? 'Receive' : 'Send'} ${m.type}`,
      channel: { $ref: '#/channels/subscriptions' },
      messages: [{ $ref: `#/channels/subscriptions/messages/${m.type}` }],
    };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'REAR hub: SUBSCRIBE_FLAVOR over WebSocket',
      version: o.version,
      description:
        'One WebSocket per client at /api/v2/subscriptions; every frame is one JSON text message with a `type`. ' +
        'The hub *receives* SUBSCRIBE_FLAVOR, UNSUBSCRIBE_FLAVOR and PING and *sends* the answers and the market events ' +
        '(each event carries `seq`, which only grows, and `at`). A frame over 64 KiB closes the connection with 1009, a ' +
        'client that stops reading is closed with 1013, one whose JWT expires with 4401 (docs/errors.md lists every close code).',
    },
    defaultContentType: 'application/json',
    servers: {
      hub: {
        host: o.host,
        protocol: o.protocol,
        description: 'This hub',
        security: [
          { $ref: '#/components/securitySchemes/bearer' },
          { $ref: '#/components/securitySchemes/accessToken' },
        ],
      },
    },
    channels: {
      subscriptions: {
        address: WS_PATH,
        title: 'Subscriptions',
        description:
          'Each connection holds its own subscription set. Authenticate the upgrade with `Authorization: Bearer <token>` or, from a browser, `?access_token=<token>`.',
        messages: channelMessages,
        bindings: {
          ws: {
            method: 'GET',
            query: {
              type: 'object',
              properties: {
                access_token: {
                  type: 'string',
                  description:
                    'The bearer token (tokens file entry or JWT), for clients that cannot set headers on an upgrade.',
                },
              },
            },
            headers: {
              type: 'object',
              properties: {
                Authorization: { type: 'string', description: 'Bearer <token>' },
              },
            },
            bindingVersion: '0.1.0',
          },
        },
      },
    },
    operations,
    components: {
      schemas,
      messages,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'A token of the tokens file, or a JWT from the configured identity provider.',
        },
        accessToken: {
          type: 'httpApiKey',
          name: 'access_token',
          in: 'query',
          description: 'The same token as a query parameter of the upgrade.',
        },
      },
    },
  };
}
