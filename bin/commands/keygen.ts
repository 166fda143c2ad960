import { writeFileSync } from 'node:fs';
import { Keyring, decodeGossipKey, keyFingerprint } from '../../net-real/keyring.ts';
import { UsageError, checkOutputPath, exitCode, type Command } from '../cli.ts';

export const command: Command = {
  summary: 'Makes a gossip key: 32 random bytes in base64, the format of a node\'s key file (--gossip-key-file, '
    + 'DIR/gossip.key of --dev-certs), one key a line, primary first. Prints it, or with --out FILE writes it '
    + '(mode 0600; an existing file is never overwritten) and prints its fingerprint, the name `shoal keys list` shows. '
    + 'Rotate a running cluster to it with `shoal keys` (docs/OPERATIONS.md, "Gossip keys"). Exit 0, or 2 when FILE cannot be written.',
  usage: 'shoal keygen [--out FILE]',
  options: { out: { type: 'string' } },
  async run(values, positionals) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const text = Keyring.generateKeyText();
    const out = values.out as string | undefined;
    if (out === undefined) {
      console.log(text);
      return exitCode.ok;
    }
    checkOutputPath('--out', out);
    try {
      writeFileSync(out, `# shoal gossip key (base64, 32 bytes, AES-256-GCM), made by shoal keygen\n${text}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`--out ${out}: the file exists; keygen never overwrites a key`);
      throw error;
    }
    console.log(`wrote ${out}: key ${keyFingerprint(decodeGossipKey(text)!)}`);
    return exitCode.ok;
  },
};
