/** States of a client's socket.io link to the coordinator, as both pages and the trainer report them. */
export const CONNECTION_STATES = [
  'connecting',
  'connected',
  'reconnecting',
  'disconnected',
  'error',
] as const;
export type ConnectionState = (typeof CONNECTION_STATES)[number];
