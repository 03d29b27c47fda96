// Bundles the RUM loader with web-vitals' attribution build into one minified file.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

await build({
  entryPoints: [path.join(root, "rum", "js", "rum.js")],
  outfile: path.join(root, "static", "rum", "rum.js"),
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
});
