// The three files of ssh2 that connect.ts loads instead of its index (which loads its
// server, key generator and HTTP agents too). Their types are ssh2's own (ssh2-type.ts).
declare module 'ssh2/lib/client.js';
declare module 'ssh2/lib/agent.js';
declare module 'ssh2/lib/protocol/keyParser.js';
