// Builds one entry per page into ../ui/static/ui, where Django serves it; the manifest
// tells the `vite_entry` template tag which files each page loads.
import { resolve } from "node:path";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const pages = ["workflows", "designer", "runs", "monitor", "inbox", "triggers", "dashboard"];

export default defineConfig({
  base: "/static/ui/",
  plugins: [react()],
  build: {
    outDir: process.env.WEFT_UI_OUT_DIR ?? resolve(import.meta.dirname, "../ui/static/ui"),
    emptyOutDir: true,
    manifest: true,
    sourcemap: false,
    // Every asset is a file of its own, so a strict Content-Security-Policy needs no data: URLs.
    assetsInlineLimit: 0,
    rollupOptions: {
      output: {
        // Shared libraries in chunks named for what they hold (a page loads only those it
        // uses), rather than after whichever module of ours happened to import them first.
        // A group takes its modules' dependencies too: React's group goes first.
        codeSplitting: {
          groups: [
            { name: "react", test: /node_modules[\\/](react|react-dom|scheduler)[\\/]/, priority: 3 },
            { name: "canvas", test: /node_modules[\\/](@xyflow|d3-[a-z-]+|zustand|classcat|@dagrejs|use-sync-external-store)[\\/]/, priority: 2 },
            { name: "yaml", test: /node_modules[\\/]yaml[\\/]/, priority: 1 },
            { name: "charts", test: /node_modules[\\/]uplot[\\/]/, priority: 1 },
            { name: "yjs", test: /node_modules[\\/](yjs|y-websocket|y-protocols|lib0)[\\/]/, priority: 1 },
          ],
        },
      },
      input: [
        ...pages.map((page) => resolve(import.meta.dirname, `src/pages/${page}.tsx`)),
        resolve(import.meta.dirname, "src/styles/frame.css"),
      ],
    },
  },
});
