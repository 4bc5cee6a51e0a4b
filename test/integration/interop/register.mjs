// Registers one client through the MCP TypeScript SDK's exported registerClient() and prints
// what the SDK made of the answer, plus the raw HTTP response it saw (the SDK's Zod schema strips
// registration_access_token and registration_client_uri, which the tests need for RFC 7592).
//
// Input (JSON on stdin): {"as_url": "...", "metadata": {...} | null, "clientMetadata": {...},
//                         "scope": "..." (optional)}
// Output (JSON on stdout): {"ok": true, "info": <OAuthClientInformationFull>, "raw": {...}}
//                       or {"ok": false, "error": {"name", "message", "errorCode"}, "raw": {...}}
// TLS trust comes from NODE_EXTRA_CA_CERTS (the test server's CA file).
import { readFileSync } from 'node:fs';
import { registerClient } from '@modelcontextprotocol/sdk/client/auth.js';

const job = JSON.parse(readFileSync(0, 'utf8'));
let raw = null;

// Same fetch the SDK would use; it only records a copy of what came back.
async function recordingFetch(url, init) {
    const response = await fetch(url, init);
    const copy = response.clone();
    raw = {
        url: String(url),
        request_body: init && typeof init.body === 'string' ? JSON.parse(init.body) : null,
        request_headers: Object.fromEntries(new Headers(init?.headers ?? {}).entries()),
        status: copy.status,
        headers: Object.fromEntries(copy.headers.entries()),
        body: await copy.text()
    };
    return response;
}

const opts = { clientMetadata: job.clientMetadata, fetchFn: recordingFetch };
if (job.metadata) opts.metadata = job.metadata;
if (job.scope !== undefined) opts.scope = job.scope;

let out;
try {
    const info = await registerClient(job.as_url, opts);
    out = { ok: true, info, raw };
} catch (e) {
    out = {
        ok: false,
        error: { name: e?.name ?? String(e), message: e?.message ?? String(e), errorCode: e?.errorCode ?? null },
        raw
    };
}
process.stdout.write(JSON.stringify(out) + '\n');
