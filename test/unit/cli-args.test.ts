/** The command line's own parsing: the default command, and --filter's field.op=value. */
import { describe, expect, it } from 'vitest';
import { withDefaultCommand } from '../../src/cli/commands.js';
import { parseFilters } from '../../src/cli/flavors.js';
import { UsageError } from '../../src/cli/output.js';

const COMMANDS = ['serve', 'flavors', 'watch'];

describe('rear-hub arguments', () => {
  it('serves when no command is named, so `npm start -- [flags]` keeps working', () => {
    expect(withDefaultCommand([], COMMANDS)).toEqual(['serve']);
    expect(withDefaultCommand(['--port', '0'], COMMANDS)).toEqual(['serve', '--port', '0']);
    expect(withDefaultCommand(['--help'], COMMANDS)).toEqual(['serve', '--help']);
    expect(withDefaultCommand(['flavors', 'list'], COMMANDS)).toEqual(['flavors', 'list']);
    expect(withDefaultCommand(['--token', 't', '--json', 'watch'], COMMANDS)).toEqual([
      '--token',
      't',
      '--json',
      'watch',
    ]);
    expect(withDefaultCommand(['help'], COMMANDS)).toEqual(['help']);
  });

  it('--filter field.op=value builds the JSON selector; anything else is a usage error', () => {
    expect(parseFilters(['cpu.min=4', 'cpu.max=16', 'architecture.match=amd64'])).toEqual({
      cpu: { range: { min: '4', max: '16' } },
      architecture: { match: 'amd64' },
    });
    expect(() => parseFilters(['cpu=4'])).toThrow(UsageError);
    expect(() => parseFilters(['cpu.between=4'])).toThrow(UsageError);
  });
});
