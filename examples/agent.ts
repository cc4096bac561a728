// Keeps the cheapest k8slice with ≥ 4 CPU bought; buys the next the moment it is withdrawn.
// With `npm start` running: REAR_TOKEN=<a consumer token> npx tsx examples/agent.ts
import WebSocket from 'ws';
import { Agent, RearHub } from '../src/client/index.js'; // elsewhere: from 'rear-hub/client'

const url = process.env.REAR_URL ?? 'http://127.0.0.1:5000';
const hub = new RearHub({ url, token: process.env.REAR_TOKEN, WebSocket });
const slice = { type: 'k8slice', data: { cpu: '1', memory: '2Gi', pods: '10' } } as const;
const agent = new Agent(hub, {
  selector: { type: 'k8slice', filter: { cpu: { range: { min: '4' } } } },
  // A 1-CPU slice of a partitionable offer; any other offer whole.
  configuration: (f) => (f.type.name === 'k8slice' && f.type.data.policies ? slice : undefined),
});
agent.on('bought', ({ flavor: f, contract: c }) =>
  console.log(`bought ${f.flavorId} at ${f.price.amount} ${f.price.currency}: ${c.ContractID}`),
);
agent.on('lost', ({ flavorId, reason }) => console.log(`lost ${flavorId} (${reason})`));
agent.on('skipped', ({ flavorId, error }) => console.log(`skipped ${flavorId}: ${error.code}`));
await agent.start();
process.once('SIGINT', () => hub.close());
