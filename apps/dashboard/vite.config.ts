// The dashboard is served by the coordinator at /; in dev, Vite proxies the coordinator's REST
// API, socket.io and PeerJS endpoints so the page can stay same-origin.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const COORDINATOR = 'http://localhost:8080';

export default defineConfig({
  base: '/',
  plugins: [react()],
  server: {
    proxy: {
      '/api': COORDINATOR,
      '/socket.io': { target: COORDINATOR, ws: true },
      '/peerjs': { target: COORDINATOR, ws: true },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
  },
});
