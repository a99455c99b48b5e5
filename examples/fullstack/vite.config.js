import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// In development the Vite server is the one site the browser sees: /api/auth/* goes to authkeep
// and /api/* to the FastAPI app, as a reverse proxy does in production (deploy/nginx.conf).
const AUTH_URL = process.env.AUTH_URL ?? "http://127.0.0.1:3000";
const API_URL = process.env.API_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      // xfwd: authkeep sees the client's address (sessions, rate limits) like behind nginx.
      "/api/auth": { target: AUTH_URL, xfwd: true },
      "/api": { target: API_URL, xfwd: true },
    },
  },
});
