// Runs the MCP TypeScript SDK's whole client-side authorization step, auth(provider,
// {serverUrl}), the way an MCP client does on a 401: protected-resource and authorization-server
// discovery, dynamic registration, then the redirect to the authorization endpoint. The in-memory
// provider records what the SDK saved and where it would send the user.
//
// Input (JSON on stdin): {"server_url": "...", "redirect_url": "...", "clientMetadata": {...}}
// Output (JSON on stdout): {"ok", "result" | "error", "client_information", "authorization_url",
//                           "requests": [{"method", "url", "status"}]}
import { readFileSync } from 'node:fs';
import { auth } from '@modelcontextprotocol/sdk/client/auth.js';

const job = JSON.parse(readFileSync(0, 'utf8'));
const requests = [];
const saved = { client: undefined, tokens: undefined, verifier: undefined, authorizationUrl: null };

async function recordingFetch(url, init) {
    const response = await fetch(url, init);
    requests.push({ method: init?.method ?? 'GET', url: String(url), status: response.status });
    return response;
}

const provider = {
    get redirectUrl() { return job.redirect_url; },
    get clientMetadata() { return job.clientMetadata; },
    clientInformation: () => saved.client,
    saveClientInformation: (info) => { saved.client = info; },
    tokens: () => saved.tokens,
    saveTokens: (t) => { saved.tokens = t; },
    redirectToAuthorization: (url) => { saved.authorizationUrl = String(url); },
    saveCodeVerifier: (v) => { saved.verifier = v; },
    codeVerifier: () => saved.verifier
};

let out;
try {
    const result = await auth(provider, { serverUrl: job.server_url, fetchFn: recordingFetch });
    out = { ok: true, result };
} catch (e) {
    out = { ok: false, error: { name: e?.name ?? String(e), message: e?.message ?? String(e) } };
}
Object.assign(out, { client_information: saved.client ?? null,
                     authorization_url: saved.authorizationUrl, requests });
process.stdout.write(JSON.stringify(out) + '\n');
