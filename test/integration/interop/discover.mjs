// Discovery then registration through the MCP TypeScript SDK's exported functions, as an MCP
// client does against an authorization server: discoverAuthorizationServerMetadata(<issuer>)
// (RFC 8414 / OpenID Connect discovery URLs built by the SDK), then registerClient() with the
// discovered metadata, so the registration goes to its registration_endpoint.
//
// Input (JSON on stdin): {"as_url": "<issuer>", "clientMetadata": {...}}
// Output (JSON on stdout): {"ok", "metadata", "info" | "error", "requests": [{"method", "url",
//                           "status"}], "raw_registration": {"status", "body"} | null}
// TLS trust comes from NODE_EXTRA_CA_CERTS (the test server's CA file).
import { readFileSync } from 'node:fs';
import { discoverAuthorizationServerMetadata, registerClient } from '@modelcontextprotocol/sdk/client/auth.js';

const job = JSON.parse(readFileSync(0, 'utf8'));
const requests = [];
let rawRegistration = null;

async function recordingFetch(url, init) {
    const response = await fetch(url, init);
    const method = init?.method ?? 'GET';
    requests.push({ method, url: String(url), status: response.status });
    if (method === 'POST')
        rawRegistration = { status: response.status, body: await response.clone().text() };
    return response;
}

const out = { ok: false, metadata: null, requests, raw_registration: null };
try {
    out.metadata = await discoverAuthorizationServerMetadata(job.as_url, { fetchFn: recordingFetch }) ?? null;
    if (!out.metadata)
        throw new Error('no metadata discovered');
    out.info = await registerClient(job.as_url, {
        metadata: out.metadata, clientMetadata: job.clientMetadata, fetchFn: recordingFetch
    });
    out.ok = true;
} catch (e) {
    out.error = { name: e?.name ?? String(e), message: e?.message ?? String(e) };
}
out.raw_registration = rawRegistration;
process.stdout.write(JSON.stringify(out) + '\n');
