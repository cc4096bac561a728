/**
 * A server-to-client WebSocket text frame (RFC 6455 §5.2: FIN, opcode 1, unmasked), built once
 * per event so fan-out writes the same bytes to every socket instead of framing per recipient.
 */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const head = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + length);
  frame[0] = 0x81;
  if (head === 2) {
    frame[1] = length;
  } else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(text, head);
  return frame;
}

/**
 * A server-to-client ping (RFC 6455 §5.5.2: FIN, opcode 9, no payload, unmasked): one frame for
 * every connection, written as fan-out writes its frames, where `ws.ping` would frame and cork
 * each one anew.
 */
export const PING_FRAME: Buffer = Buffer.from([0x89, 0x00]);
