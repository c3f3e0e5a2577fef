import { LocalTransport } from '../../src/transport/local/local-transport.js';
import { describeEngine } from './conformance.js';

describeEngine('local', (path) => ({
  path,
  transport: () => new LocalTransport(path),
  targetConfig: () => `type: local\npath: ${JSON.stringify(path)}`,
}));
