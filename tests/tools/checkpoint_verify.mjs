// Verifies ward's signed ledger checkpoints with Node's own Ed25519 (node:crypto, no
// dependency), for crates/ward/tests/it/tools.rs, from the format as the README documents it:
// the signature is over `ward-ledger-checkpoint/v1\n<size>\n<head>\n<at>\n` (the JSON's
// values as written), `key` is the raw 32-byte public key and `signature` the 64-byte
// signature, both hex. Input: one checkpoint's JSON per line. Output: one line per input,
// {"valid": true|false} or {"error": message}.
import { createPublicKey, verify } from 'node:crypto';
import { createInterface } from 'node:readline';

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let out;
  try {
    const checkpoint = JSON.parse(line);
    const text = `${checkpoint.format}\n${checkpoint.size}\n${checkpoint.head}\n${checkpoint.at}\n`;
    const key = createPublicKey({
      key: {
        kty: 'OKP',
        crv: 'Ed25519',
        x: Buffer.from(checkpoint.key, 'hex').toString('base64url'),
      },
      format: 'jwk',
    });
    const valid = verify(null, Buffer.from(text, 'utf8'), key, Buffer.from(checkpoint.signature, 'hex'));
    out = { valid };
  } catch (error) {
    out = { error: String(error) };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}
