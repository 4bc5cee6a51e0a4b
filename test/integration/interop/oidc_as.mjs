// A real OAuth 2.0 authorization server for the upstream tests: node oidc-provider (version
// pinned in package.json) over HTTPS with dynamic registration behind an initial access token,
// RFC 7592 management, client_credentials, private_key_jwt and introspection; an in-memory
// adapter the tests can list; and a plain-HTTP control port on 127.0.0.1 (the suite's admin API)
// that lists clients, records registration calls, injects faults on the registration
// endpoints, switches token rotation and takes the HTTPS port down and up without losing
// state. Driven by test/integration/oidc_as.py (the control routes are documented there).
//
// Usage: node oidc_as.mjs CONFIG.json, where CONFIG holds
//   {"cert", "key": PEM file paths, "port": 0 | n, "admin_port": 0 | n,
//    "issuer": null | URL (default https://127.0.0.1:<port>),
//    "initial_access_token": string, "rotate_registration_access_token": bool,
//    "resource_server": {"client_id", "client_secret"}, "access_token_ttl": seconds,
//    "scopes": [...] (default openid, offline_access, api),
//    "signing_jwk": a private RSA JWK (default: one made at startup)}
// Prints one JSON line when both ports listen: {"port", "admin_port", "issuer"}.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

// The provider's storage: one Map per model, entries expire like the provider asks. Unlike
// the bundled LRU adapter it can be listed, and never evicts a client.
const models = new Map();
const storeOf = (model) => {
    if (!models.has(model)) models.set(model, new Map());
    return models.get(model);
};
const live = (entry) => entry && (!entry.expiresAt || entry.expiresAt > Date.now());

class MapAdapter {
    constructor(model) {
        this.store = storeOf(model);
    }

    async upsert(id, payload, expiresIn) {
        const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : 0;
        this.store.set(id, { payload, expiresAt });
    }

    async find(id) {
        const entry = this.store.get(id);
        return live(entry) ? entry.payload : undefined;
    }

    async findBy(field, value) {
        for (const entry of this.store.values()) {
            if (live(entry) && entry.payload[field] === value) return entry.payload;
        }
        return undefined;
    }

    findByUid(uid) {
        return this.findBy('uid', uid);
    }

    findByUserCode(userCode) {
        return this.findBy('userCode', userCode);
    }

    async consume(id) {
        const entry = this.store.get(id);
        if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id) {
        this.store.delete(id);
    }

    async revokeByGrantId(grantId) {
        for (const [id, entry] of this.store) {
            if (entry.payload.grantId === grantId) this.store.delete(id);
        }
    }
}

function liveClients() {
    return [...storeOf('Client').values()].filter(live).map((e) => e.payload);
}

// ID tokens and JWT answers need an RS256 key; tests pass one in to spare the keygen.
const signingKey = config.signing_jwk ?? {
    ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
    kid: 'as-1',
    use: 'sig',
    alg: 'RS256',
};
const ttl = config.access_token_ttl ?? 600;
let rotate = Boolean(config.rotate_registration_access_token);

const tls = { cert: readFileSync(config.cert), key: readFileSync(config.key) };
const main = https.createServer(tls);
const listen = (server, port) => new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve(server.address().port);
    });
});
const port = await listen(main, config.port ?? 0);
const issuer = config.issuer || `https://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
    adapter: MapAdapter,
    // The resource server (mod_auth_openidc) authenticates as this client to introspect.
    clients: [{
        client_id: config.resource_server.client_id,
        client_secret: config.resource_server.client_secret,
        grant_types: [],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
    }],
    scopes: config.scopes ?? ['openid', 'offline_access', 'api'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        introspection: { enabled: true },
        revocation: { enabled: true },
        registration: {
            enabled: true,
            initialAccessToken: config.initial_access_token,
            issueRegistrationAccessToken: true,
        },
        registrationManagement: {
            enabled: true,
            rotateRegistrationAccessToken: () => rotate, // the control port switches it
        },
    },
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    ttl: {
        AccessToken: ttl,
        ClientCredentials: ttl,
        Grant: ttl,
        Interaction: 600,
        Session: 600,
        IdToken: 600,
        AuthorizationCode: 60,
    },
});
provider.proxy = true; // behind httpd: X-Forwarded-Proto/-Host make the published URLs

// What a registration call carried, for the tests: the parsed JSON body (the stored client
// drops members it does not know).
provider.use(async (ctx, next) => {
    const entry = ctx.req.registrationCall;
    try {
        await next();
    } finally {
        if (entry) entry.body = ctx.oidc?.body ?? null;
    }
});

// Faults on the registration endpoints (routes.registration, default /reg and /reg/<id>).
const REG = '/reg';
let fault = null; // {mode: "status"|"hang"|"reset"|"delay", status, body, ms, methods, times}
const hung = new Set();
const requests = []; // registration calls: {method, path, status, fault, authorization, body}

function faultFor(req) {
    if (!fault) return null;
    if (fault.methods && !fault.methods.includes(req.method)) return null;
    const f = fault;
    if (typeof f.times === 'number' && --f.times <= 0) fault = null;
    return f;
}

const callback = provider.callback();
main.on('request', (req, res) => {
    const path = req.url.split('?')[0];
    if (path !== REG && !path.startsWith(REG + '/')) return callback(req, res);
    const entry = {
        method: req.method,
        path,
        status: null,
        fault: null,
        authorization: req.headers.authorization ?? null,
        body: null,
    };
    requests.push(entry);
    req.registrationCall = entry;
    const f = faultFor(req);
    if (!f) {
        res.on('finish', () => { entry.status = res.statusCode; });
        return callback(req, res);
    }
    entry.fault = f.mode;
    if (f.mode === 'delay') { // the real answer, ms later: a slow upstream for races
        setTimeout(() => {
            res.on('finish', () => { entry.status = res.statusCode; });
            callback(req, res);
        }, f.ms ?? 1000);
        return undefined;
    }
    if (f.mode === 'status' && f.ms) { // a slow failure
        setTimeout(() => answerFault(f, entry, res), f.ms);
        return undefined;
    }
    if (f.mode === 'hang') {
        hung.add(req.socket);
        req.socket.on('close', () => hung.delete(req.socket));
        return undefined;
    }
    if (f.mode === 'reset') return req.socket.destroy();
    return answerFault(f, entry, res);
});

function answerFault(f, entry, res) {
    entry.status = f.status ?? 500;
    const body = JSON.stringify(f.body ?? { error: 'server_error', error_description: 'injected' });
    res.writeHead(entry.status, { 'content-type': 'application/json' });
    return res.end(body);
}

function releaseHung() {
    for (const socket of hung) socket.destroy();
    hung.clear();
}

// The control port: plain HTTP on loopback, for the test process only.
const routes = {
    'GET /__test/clients': () => {
        const clients = liveClients();
        return [200, { count: clients.length, clients }];
    },
    'GET /__test/requests': () => [200, { requests }],
    'POST /__test/fault': (body) => {
        releaseHung();
        fault = body;
        return [200, { fault }];
    },
    'DELETE /__test/fault': () => {
        fault = null;
        releaseHung();
        return [200, { fault }];
    },
    'POST /__test/rotation': (body) => {
        rotate = Boolean(body?.rotate);
        return [200, { rotate }];
    },
    'POST /__test/down': async () => {
        if (main.listening) {
            const closed = new Promise((resolve) => { main.close(resolve); });
            main.closeAllConnections();
            releaseHung();
            await closed;
        }
        return [200, { listening: main.listening }];
    },
    'POST /__test/up': async () => {
        if (!main.listening) await listen(main, port);
        return [200, { listening: main.listening }];
    },
};

const admin = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    let answer;
    try {
        const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : null;
        const path = req.url.split('?')[0];
        const one = path.match(/^\/__test\/clients\/([^/]+)$/);
        if (req.method === 'GET' && one) {
            const id = decodeURIComponent(one[1]);
            const client = liveClients().find((c) => c.client_id === id);
            answer = client ? [200, client] : [404, { error: 'not_found' }];
        } else {
            const route = routes[`${req.method} ${path}`];
            answer = route ? await route(body) : [404, { error: 'not_found' }];
        }
    } catch (e) {
        answer = [500, { error: String(e?.stack ?? e) }];
    }
    res.writeHead(answer[0], { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer[1]));
});
const adminPort = await listen(admin, config.admin_port ?? 0);

process.on('SIGTERM', () => process.exit(0));
process.stdout.write(JSON.stringify({ port, admin_port: adminPort, issuer }) + '\n');
