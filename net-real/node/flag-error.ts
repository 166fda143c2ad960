/**
 * A flag or file the node cannot use: the CLI prints the message and exits with code 2.
 * In a module of its own so that flag tables elsewhere (`net-real/limits.ts`) can throw it
 * without importing `flags.ts`, which imports them.
 */
export class NodeFlagError extends Error {
  override name = 'NodeFlagError';
}
