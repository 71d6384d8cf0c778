// The GraphQL-over-HTTP audit (graphql-http's auditServer) against one endpoint, as JSON.
//
//     node node/audit.mjs http://127.0.0.1:8000/graphql
//
// Prints one JSON array on stdout, one entry per audit:
//   {"id", "name", "status": "ok"|"notice"|"warn"|"error", "reason"?, "response"?}
// where "response" (failed audits only) is the answer the audit judged: its status, its
// Content-Type and the start of its body. Exit 0 when the audit ran, whatever it found;
// non-zero only when it could not run (bad arguments, a fatal error).
import { auditServer } from 'graphql-http';

const BODY_CHARS = 300;

async function describe(response) {
  if (!response) return undefined;
  let body = '';
  try {
    body = (await response.clone().text()).slice(0, BODY_CHARS);
  } catch {
    body = '(body already read)';
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body,
  };
}

async function main() {
  const url = process.argv[2];
  if (!url) {
    process.stderr.write('usage: node audit.mjs <graphql endpoint URL>\n');
    process.exit(2);
  }
  const results = await auditServer({ url });
  const described = [];
  for (const result of results) {
    const entry = { id: result.id, name: result.name, status: result.status };
    if (result.status !== 'ok') {
      entry.reason = result.reason;
      entry.response = await describe(result.response);
    }
    described.push(entry);
  }
  process.stdout.write(JSON.stringify(described, null, 1) + '\n');
}

main().catch((error) => {
  process.stderr.write(`audit failed: ${error?.stack ?? error}\n`);
  process.exit(1);
});
