// Hive Gateway's configuration for the bench's peer (see mesh.config.mjs):
//
//     node_modules/.bin/hive-gateway supergraph /tmp/supergraph.graphql \
//       -c peer/gateway.config.mjs --host 127.0.0.1 --port 4000
//
// `fullinfo(city)` answers { city } at once; its `weather` and `joke` fields each call
// their own subgraph through the in-context SDK, and graphql-js resolves sibling fields
// concurrently, so a fullinfo costs the slower upstream, not the sum.
import { defineConfig } from '@graphql-hive/gateway';

const LANG = 'fr'; // Canaduck's default language

export const gatewayConfig = defineConfig({
  logging: 'error', // no line per request: the bench measures serving, not logging
  additionalResolvers: {
    Query: {
      fullinfo: (_root, { city }) => ({ city }),
    },
    FullInfo: {
      weather: (parent, _args, context, info) =>
        context.Weather.Query.weather({
          root: parent,
          args: { city: parent.city, lang: LANG },
          context,
          info,
        }),
      joke: async (parent, _args, context, info) => {
        const joke = await context.Jokes.Query.joke({
          root: parent,
          args: { lang: LANG },
          context,
          info,
          selectionSet: '{ joke }',
        });
        return joke?.joke ?? null;
      },
    },
  },
});
