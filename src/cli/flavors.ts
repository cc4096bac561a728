/** `rear-hub flavors list|get`: LIST_FLAVORS (§4) as a table or the hub's JSON. */
import type { Command } from 'commander';
import type { FieldFilter, Flavor, FlavorTypeSpelling } from '../client/index.js';
import { systemClock } from '../clock.js';
import { price, summary } from '../web/format.js';
import { action, globals, hubFor } from './context.js';
import { fields, printJson, table, until, UsageError } from './output.js';

/** `cpu.min=4` → { cpu: { range: { min: '4' } } }; repeatable, combined with AND. */
export function parseFilters(specs: string[]): Record<string, FieldFilter> {
  const filter: Record<string, FieldFilter> = {};
  for (const spec of specs) {
    const m = /^([A-Za-z_]+)\.(match|min|max)=(.*)$/.exec(spec);
    if (!m)
      throw new UsageError(`--filter takes field.op=value with op match|min|max, got "${spec}"`);
    const [, field, op, value] = m as unknown as [string, string, 'match' | 'min' | 'max', string];
    const f = (filter[field] ??= {});
    if (op === 'match') f.match = value;
    else f.range = { ...f.range, [op]: value };
  }
  return filter;
}

export function flavorRows(list: Flavor[], now: number): string {
  return table(
    ['ID', 'TYPE', 'PROVIDER', 'PRICE', 'EXPIRES', 'OFFER'],
    list.map((f) => [
      f.flavorId,
      f.type.name,
      f.providerId,
      price(f),
      until(f.expirationTime, now),
      `${summary(f)}${f.availability ? '' : ' (unavailable)'}`,
    ]),
  );
}

export function flavorFields(f: Flavor): string {
  return fields([
    ['ID', f.flavorId],
    ['Type', f.type.name],
    ['Provider', f.providerId],
    ['Offer', summary(f)],
    ['Price', price(f)],
    ['Available', String(f.availability)],
    ['Published', f.timestamp],
    ['Expires', f.expirationTime],
  ]);
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function register(program: Command): void {
  const flavors = program.command('flavors').description('list and read offers (§4)');
  flavors
    .command('list')
    .description('list the offers on sale, optionally of one type and narrowed by a selector')
    .option('--type <type>', 'k8slice, vm, service or sensor')
    .option(
      '--filter <field.op=value>',
      'a selector filter, op match|min|max (repeatable)',
      collect,
      [],
    )
    .action(
      action(async ([opts], cmd) => {
        const o = opts as { type?: string; filter: string[] };
        const hub = hubFor(cmd);
        const list = await hub.flavors.list({
          ...(o.type ? { type: o.type as FlavorTypeSpelling } : {}),
          filter: parseFilters(o.filter),
        });
        if (globals(cmd).json) printJson(list);
        else console.log(list.length ? flavorRows(list, systemClock.now()) : 'No offers.');
      }),
    );
  flavors
    .command('get')
    .description('one offer')
    .argument('<flavorId>')
    .action(
      action(async ([id], cmd) => {
        const f = await hubFor(cmd).flavors.get(id as string);
        if (globals(cmd).json) printJson(f);
        else console.log(flavorFields(f));
      }),
    );
}
