import { LocalTransport } from '../../../src/transport/local/local-transport.js';
import { describeTransport } from '../conformance.js';

describeTransport('local', (root) => {
  const transport = new LocalTransport(root);
  return { transport, close: () => transport.close() };
});
