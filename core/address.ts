import { InvalidArgumentError } from './errors.ts';

/**
 * A transport address, `host:port` (IPv6 hosts in brackets: `[::1]:7946`). A plain string
 * so it can key maps cheaply; build and check it with the helpers below.
 */
export type Address = string;

/** A member's stable identity: its name, unique in the cluster. */
export type NodeId = string;

/** The longest host part accepted; DNS names are at most 253 bytes. */
export const addressHostLengthMax = 253;

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export function parseAddress(address: string): HostPort {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(address);
  if (match === null) {
    throw new InvalidArgumentError(`invalid address "${address}": expected host:port or [ipv6]:port`);
  }
  const host = (match[1] ?? match[2])!;
  const port = Number(match[3]);
  if (host.length > addressHostLengthMax) {
    throw new InvalidArgumentError(`invalid address "${address}": host longer than ${addressHostLengthMax}`);
  }
  if (port < 1 || port > 65535) {
    throw new InvalidArgumentError(`invalid address "${address}": port ${port} out of range 1..65535`);
  }
  return { host, port };
}

export function formatAddress(host: string, port: number): Address {
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  parseAddress(address);
  return address;
}

export function isAddress(value: string): boolean {
  try {
    parseAddress(value);
    return true;
  } catch {
    return false;
  }
}
