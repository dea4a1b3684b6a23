#!/usr/bin/env node
// A solc-compatible executable over the npm package `solc` (solc-js).
//
// It answers the two calls py-solc-x makes of a native solc:
//   solc --version                       -> "solc, the solidity compiler ... Version: X"
//   solc --standard-json [--base-path P] [--allow-paths A] [--include-path I] < input.json
// and, unlike the `solcjs` CLI, prints JSON only on stdout. Imports are read
// from disk relative to the base path and each include path, the way native
// solc does it; remappings in the input are applied by the compiler itself.
'use strict';
const fs = require('fs');
const path = require('path');

function loadSolc() {
  const roots = [process.env.RWA_NODE_MODULES, process.cwd(), __dirname].filter(Boolean);
  return require(require.resolve('solc', { paths: roots }));
}

function parseArgs(argv) {
  const opts = { basePath: process.cwd(), includePaths: [], standardJson: false, version: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--version') opts.version = true;
    else if (a === '--standard-json') opts.standardJson = true;
    else if (a === '--base-path') opts.basePath = argv[++i];
    else if (a === '--include-path') opts.includePaths.push(argv[++i]);
    else if (a === '--allow-paths') i++; // reading is confined to base/include paths below
  }
  return opts;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const solc = loadSolc();
  if (opts.version) {
    // Same shape as native solc so py-solc-x can parse it.
    process.stdout.write('solc, the solidity compiler commandline interface\nVersion: ' + solc.version() + '\n');
    return;
  }
  if (!opts.standardJson) {
    process.stderr.write('usage: solc --version | solc --standard-json [--base-path P] [--include-path I] < input.json\n');
    process.exit(2);
  }
  const roots = [opts.basePath, ...opts.includePaths].map((p) => path.resolve(p));
  const findImports = (unitName) => {
    const candidates = path.isAbsolute(unitName) ? [unitName] : roots.map((r) => path.join(r, unitName));
    for (const file of candidates) {
      const resolved = path.resolve(file);
      if (!roots.some((r) => resolved === r || resolved.startsWith(r + path.sep))) continue;
      try {
        return { contents: fs.readFileSync(resolved, 'utf8') };
      } catch (e) { /* try the next root */ }
    }
    return { error: 'File not found: ' + unitName + ' (searched ' + roots.join(', ') + ')' };
  };
  const input = fs.readFileSync(0, 'utf8');
  process.stdout.write(solc.compile(input, { import: findImports }));
}

main();
