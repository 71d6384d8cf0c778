// Compose Federation v2 subgraphs into a supergraph with @theguild/federation-composition
// (the composition Hive Gateway itself runs).
//
//     node node/compose.mjs NAME URL SDL_FILE [NAME URL SDL_FILE ...] > supergraph.graphql
//
// Prints the supergraph SDL on stdout and exits 0. When composition fails it prints one line
// per error on stderr, "CODE: message" as the composition words it, and exits 1; exit 2 is
// a usage error. SDL_FILE paths are relative to the current directory.
import { readFileSync } from 'node:fs';
import { composeServices } from '@theguild/federation-composition';
import { parse } from 'graphql';

function usage(message) {
  process.stderr.write(`${message}\nusage: node compose.mjs NAME URL SDL_FILE [...]\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
if (args.length === 0 || args.length % 3 !== 0) usage('expected NAME URL SDL_FILE triples');

const services = [];
for (let i = 0; i < args.length; i += 3) {
  const [name, url, file] = args.slice(i, i + 3);
  let typeDefs;
  try {
    typeDefs = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    process.stderr.write(`${name}: cannot read ${file}: ${error.message}\n`);
    process.exit(1);
  }
  services.push({ name, url, typeDefs });
}

const result = composeServices(services);
if (result.errors && result.errors.length > 0) {
  for (const error of result.errors) {
    const code = error.extensions?.code ?? 'COMPOSITION_ERROR';
    process.stderr.write(`${code}: ${error.message}\n`);
  }
  process.exit(1);
}
process.stdout.write(result.supergraphSdl.endsWith('\n') ? result.supergraphSdl : `${result.supergraphSdl}\n`);
