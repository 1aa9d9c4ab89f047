// The volunteer page is served by the coordinator under /volunteer/; in dev, Vite proxies the
// coordinator's socket.io and PeerJS endpoints so the page can stay same-origin.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const COORDINATOR = 'http://localhost:8080';

export default defineConfig({
  base: '/volunteer/',
  plugins: [react()],
  server: {
    proxy: {
      '/socket.io': { target: COORDINATOR, ws: true },
      '/peerjs': { target: COORDINATOR, ws: true },
    },
  },
  // The trainer's worker imports tfjs's WebGPU backend lazily: a module worker keeps that split.
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // tfjs with its WebGPU backend is one large chunk, loaded only after Start.
    chunkSizeWarningLimit: 4096,
  },
});
