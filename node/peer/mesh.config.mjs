// The bench's peer: a GraphQL Mesh supergraph over the bench's two stub REST services.
//
//     WEATHER_URL=http://127.0.0.1:8001 JOKE_URL=http://127.0.0.1:8002 \
//       node_modules/.bin/mesh-compose -c peer/mesh.config.mjs -o /tmp/supergraph.graphql
//
// Each stub is a JSON Schema subgraph (@omnigraph/json-schema): one GET operation, its
// answer described inline (bench/stub.py's contract). The weather fields are renamed to
// camelCase, as Canaduck's schema names them, so the peer answers Canaduck's fullinfo
// query with the same JSON. `fullinfo(city)` is added here (additionalTypeDefs) and
// resolved in gateway.config.mjs (additionalResolvers), one resolver per field, so
// graphql-js runs the weather and the joke fetches concurrently.
import { defineConfig } from '@graphql-mesh/compose-cli';
import { createNamingConventionTransform } from '@graphql-mesh/fusion-composition';
import { loadJSONSchemaSubgraph } from '@omnigraph/json-schema';

function endpoint(name) {
  const url = process.env[name];
  if (!url) throw new Error(`${name} must be set to the stub's base URL`);
  return url;
}

const number = { type: 'number' };
const string = { type: 'string' };

const weather = {
  title: 'Weather',
  type: 'object',
  required: [
    'city', 'country', 'latitude', 'longitude', 'timezone', 'temperature', 'condition',
    'condition_code', 'humidity', 'wind_kph', 'observed_at', 'source',
  ],
  properties: {
    city: string,
    country: string,
    latitude: number,
    longitude: number,
    timezone: string,
    temperature: number,
    condition: string,
    condition_code: string,
    humidity: { type: 'integer' },
    wind_kph: number,
    observed_at: string,
    source: string,
    lang: string,
  },
};

const joke = {
  title: 'Joke',
  type: 'object',
  required: ['id', 'joke', 'lang'],
  properties: { id: { type: 'integer' }, joke: string, lang: string },
};

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadJSONSchemaSubgraph('Weather', {
        endpoint: endpoint('WEATHER_URL'),
        operations: [
          {
            type: 'Query',
            field: 'weather',
            path: '/weather?city={args.city}&lang={args.lang}',
            method: 'GET',
            argTypeMap: { city: { type: 'string' }, lang: { type: 'string' } },
            requiredArgs: ['city', 'lang'],
            responseSchema: weather,
          },
        ],
      }),
      transforms: [createNamingConventionTransform({ fieldNames: 'camelCase' })],
    },
    {
      sourceHandler: loadJSONSchemaSubgraph('Jokes', {
        endpoint: endpoint('JOKE_URL'),
        operations: [
          {
            type: 'Query',
            field: 'joke',
            path: '/joke?lang={args.lang}',
            method: 'GET',
            argTypeMap: { lang: { type: 'string' } },
            requiredArgs: ['lang'],
            responseSchema: joke,
          },
        ],
      }),
    },
  ],
  additionalTypeDefs: /* GraphQL */ `
    "The weather of a city and a joke, in one answer (resolved in gateway.config.mjs)."
    type FullInfo {
      city: String!
      weather: Weather
      joke: String
    }
    extend type Query {
      fullinfo(city: String!): FullInfo
    }
  `,
});
