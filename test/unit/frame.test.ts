import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { textFrame } from '../../src/ws/frame.js';

// ws exports its frame parser at run time; @types/ws does not declare it.
const { Receiver } = createRequire(import.meta.url)('ws') as {
  Receiver: new (options: { isServer: boolean; maxPayload: number }) => Writable;
};

/** Reads frames the way every ws client does: with ws's own receiver, as a client. */
function parse(bytes: Buffer): Array<{ text: string; isBinary: boolean }> {
  const out: Array<{ text: string; isBinary: boolean }> = [];
  const receiver = new Receiver({ isServer: false, maxPayload: 0 });
  receiver.on('message', (data: Buffer, isBinary: boolean) =>
    out.push({ text: data.toString('utf8'), isBinary }),
  );
  receiver.on('error', (err: Error) => {
    throw err;
  });
  receiver.write(bytes);
  return out;
}

describe('textFrame', () => {
  it('frames texts at every payload-length boundary so ws reads them back', () => {
    for (const length of [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]) {
      const text = 'a'.repeat(length);
      expect(parse(textFrame(text))).toEqual([{ text, isBinary: false }]);
    }
  });

  it('counts UTF-8 bytes, not characters, and keeps frames apart when they arrive together', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme', maxLength: 300 }), { maxLength: 5 }),
        (texts) => {
          const received = parse(Buffer.concat(texts.map(textFrame)));
          expect(received).toEqual(texts.map((text) => ({ text, isBinary: false })));
        },
      ),
    );
  });
});
