#!/usr/bin/env bash
# The README's first command: installs the missing Debian packages, builds the module, starts a
# throwaway httpd with it on https://localhost:8443/register (ServerRoot ./_run, generated
# config and certificates, the embedded SQLite store; the system apache is left alone), makes a
# demo SPIFFE trust domain and shows a workload registering with its JWT-SVID.
# Run again at will: it rebuilds and restarts the demo server. Stop it with: scripts/demo.sh stop
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
run="$top/_run"
httpd=/usr/sbin/apache2
modules=/usr/lib/apache2/modules
port=8443

ctl() { "$httpd" -d "$run" -f "$run/conf/httpd.conf" -k "$1"; }

stop_demo() {
    if [ -f "$run/run/httpd.pid" ] && kill -0 "$(cat "$run/run/httpd.pid")" 2>/dev/null; then
        ctl stop || true
        for _ in $(seq 50); do [ -f "$run/run/httpd.pid" ] || break; sleep 0.1; done
    fi
}

if [ "${1:-}" = stop ]; then
    stop_demo
    exit 0
fi

echo "== dependencies"
scripts/install-deps.sh

echo "== build (./build)"
[ -x configure ] || autoreconf -fi
mkdir -p build
if ! (cd build && { [ -f Makefile ] || ../configure -q; } && make -s -j"$(nproc)") \
    >build/demo-build.log 2>&1; then
    cat build/demo-build.log
    echo "demo.sh: the build failed (log above)" >&2
    exit 1
fi
module="$top/build/.libs/mod_dcr_trusted.so"

echo "== httpd on https://localhost:$port/register (ServerRoot $run)"
stop_demo
mkdir -p "$run/conf" "$run/logs" "$run/run" "$run/data" "$run/spiffe"
chmod 755 "$run" "$run/data"
# The demo trust domain: a signing key and its SPIFFE bundle, made once.
audience="https://localhost:$port/register"
svid=$(/usr/bin/python3 scripts/demo_svid.py "$run/spiffe" spiffe://demo.example/ns/prod/billing "$audience")
if [ ! -f "$run/conf/server.crt" ]; then
    (cd "$run/conf" &&
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
            -keyout ca.key -out ca.crt -subj "/CN=mod_dcr_trusted demo CA" 2>/dev/null &&
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null &&
        printf 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' >ext.cnf &&
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
            -extfile ext.cnf -out server.crt 2>/dev/null)
fi
user=""
if [ "$(id -u)" -eq 0 ]; then
    user=$'User nobody\nGroup nogroup'
    chown nobody:nogroup "$run/data" # SQLite writes its -wal and -shm files beside the database
fi
cat >"$run/conf/httpd.conf" <<EOF
ServerRoot $run
DefaultRuntimeDir $run/run
PidFile $run/run/httpd.pid
Mutex file:$run/run default
LoadModule mpm_event_module $modules/mod_mpm_event.so
LoadModule authz_core_module $modules/mod_authz_core.so
LoadModule ssl_module $modules/mod_ssl.so
LoadModule socache_shmcb_module $modules/mod_socache_shmcb.so
LoadModule dcr_trusted_module $module
$user
ServerName localhost
ErrorLog $run/logs/error.log
LogLevel notice dcr_trusted:info
LogFormat "%h %t \"%r\" %>s %{DCR_DECISION}n %{DCR_CLIENT_ID}n" dcr
CustomLog $run/logs/access.log dcr
SSLSessionCache shmcb:$run/run/ssl_scache(512000)
Listen 127.0.0.1:$port
<VirtualHost 127.0.0.1:$port>
    ServerName localhost:$port
    SSLEngine on
    SSLCertificateFile $run/conf/server.crt
    SSLCertificateKeyFile $run/conf/server.key
    DCRStore sqlite:$run/data/clients.db
    DCRTrustDomain demo.example $run/spiffe/bundle.json
    <Location /register>
        SetHandler dcr-registration
    </Location>
</VirtualHost>
EOF
ctl start
for _ in $(seq 100); do
    curl -s -o /dev/null --cacert "$run/conf/ca.crt" "https://localhost:$port/" && break
    sleep 0.1
done

body='{"software_statement":"'"$svid"'","client_name":"asked for in the request","grant_types":["client_credentials"]}'
echo
echo "== request"
echo "POST https://localhost:$port/register"
echo "Content-Type: application/json"
echo
echo "$body"
echo
echo "== response"
curl -sS -i --cacert "$run/conf/ca.crt" -H 'Content-Type: application/json' \
    --data "$body" "https://localhost:$port/register" | tee "$run/last-response.txt"
echo
grep -q '^HTTP/[0-9.]* 201' "$run/last-response.txt" ||
    { echo "demo.sh: the registration did not succeed (see $run/logs/error.log)" >&2; exit 1; }
echo
echo "The client registered with its SPIFFE ID and got no client secret: it authenticates"
echo "later with its JWT-SVIDs (token_endpoint_auth_method spiffe_jwt). The name in the SVID"
echo "won over the one in the request. Registrations live in $run/data/clients.db."
echo "The server keeps running: logs in $run/logs, config in $run/conf/httpd.conf."
echo "Stop it with: scripts/demo.sh stop"
