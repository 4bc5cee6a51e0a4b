// Registers one client with oauth4webapi (a strict, spec-checking OAuth client library): it
// insists on HTTP 201, a JSON content type, a string client_id, and a numeric
// client_secret_expires_at whenever a secret is issued; errors become ResponseBodyError with the
// server's error fields.
//
// Input (JSON on stdin): {"as": {"issuer", "registration_endpoint"}, "metadata": {...}}
// Output (JSON on stdout): {"ok": true, "info": {...}} or {"ok": false, "error": {...}}
import { readFileSync } from 'node:fs';
import * as oauth from 'oauth4webapi';

const job = JSON.parse(readFileSync(0, 'utf8'));
let out;
try {
    const response = await oauth.dynamicClientRegistrationRequest(job.as, job.metadata);
    const info = await oauth.processDynamicClientRegistrationResponse(response);
    out = { ok: true, info };
} catch (e) {
    out = {
        ok: false,
        error: {
            name: e?.name ?? String(e), message: e?.message ?? String(e), code: e?.code ?? null,
            status: e?.status ?? null, error: e?.error ?? null,
            error_description: e?.error_description ?? null
        }
    };
}
process.stdout.write(JSON.stringify(out) + '\n');
