import { LocalTransport } from '../../src/transport/local.js';
import { describeTransport } from './conformance.js';

describeTransport('local', (root) => {
  const transport = new LocalTransport(root);
  return { transport, close: () => transport.close() };
});
