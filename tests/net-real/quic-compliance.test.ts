import { afterAll } from 'vitest';
import { describeTransportCompliance } from '../compliance/transport-suite.ts';
import { makeCertDir, quicHarness } from './quic-harness.ts';

const certs = makeCertDir();
afterAll(() => certs.remove());

describeTransportCompliance('QUIC on loopback', quicHarness(certs));
