/** A client's socket.io link to the coordinator: its states, and how it reconnects. */

/** States of the link, as both pages and the trainer report them. */
export const CONNECTION_STATES = [
  'connecting',
  'connected',
  'reconnecting',
  'disconnected',
  'error',
] as const;
export type ConnectionState = (typeof CONNECTION_STATES)[number];

/** Backoff of socket.io's own reconnection, for every client: ~0.5 s doubling to 10 s, ±50 % jitter. */
export const RECONNECT_OPTIONS = {
  reconnection: true,
  reconnectionDelay: 500,
  reconnectionDelayMax: 10_000,
  randomizationFactor: 0.5,
} as const;
