export * from './chunk-codec.ts';
export * from './reassembler.ts';
export * from './link.ts';
export * from './memory-link.ts';
export * from './frame-transport.ts';
export * from './frame-hub.ts';
export * from './peerjs-link.ts';
