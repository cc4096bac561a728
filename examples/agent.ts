// Keeps the cheapest k8slice with at least 4 CPU bought, and buys the next the moment it is withdrawn.
// npm start (in another terminal), then: REAR_TOKEN=<a consumer token> npx tsx examples/agent.ts
import WebSocket from 'ws';
import { Agent, RearHub } from '../src/client/index.js'; // in your project: 'rear-hub/client'

const hub = new RearHub({
  url: process.env.REAR_URL ?? 'http://127.0.0.1:5000',
  token: process.env.REAR_TOKEN,
  WebSocket,
});
const agent = new Agent(hub, {
  selector: { type: 'k8slice', filter: { cpu: { range: { min: '4' } } } },
  // From a partitionable offer, a slice of 1 CPU, 2 GiB and 10 pods; any other offer whole.
  configuration: (f) =>
    f.type.name === 'k8slice' && f.type.data.policies
      ? { type: 'k8slice', data: { cpu: '1', memory: '2Gi', pods: '10' } }
      : undefined,
});
agent.on('bought', ({ flavor, contract }) =>
  console.log(
    `bought ${flavor.flavorId} at ${flavor.price.amount} ${flavor.price.currency}: ${contract.ContractID}`,
  ),
);
agent.on('lost', ({ flavorId, reason }) =>
  console.log(`lost ${flavorId} (${reason}): buying the next`),
);
agent.on('skipped', ({ flavorId, error }) => console.log(`skipped ${flavorId}: ${error.code}`));
await agent.start();
process.once('SIGINT', () => hub.close());
