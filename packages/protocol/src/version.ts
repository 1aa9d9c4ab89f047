/** Version of the socket.io protocol and of the binary parameter frame. Both sides check it. */
export const PROTOCOL_VERSION = 1;
export const FRAME_VERSION = 1;

/** socket.io namespaces: volunteers and dashboards never share one. */
export const NAMESPACES = {
  volunteer: '/volunteer',
  dashboard: '/dashboard',
} as const;

/** Path of the PeerJS signalling server, mounted on the coordinator's HTTP port. */
export const PEERJS_PATH = '/peerjs';
export const PEERJS_KEY = 'tabswarm';
