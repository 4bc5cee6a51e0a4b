/* The steps where an upstream holds the client (src/upstream_flow.c) over a real SQLite store:
 * here the sweep of expired upstream clients, whose upstream deletes can fail for long. */
#include "unit.h"
#include "temp_db.h"

#include "json.h"
#include "store_contract.h"
#include "store_sql.h"
#include "store_sqlite.h"
#include "upstream_flow.h"

#include <string.h>

static const dcr_upstream known = {.ops = &dcr_upstream_rfc7591_ops,
                                   .url = "https://as.example.com/reg",
                                   .origin = "as.example.com:443"};

static dcr_store *open_store(void)
{
    dcr_sql_conn *c = NULL;
    dcr_error err = {0};
    ck_assert_int_eq(dcr_store_sqlite_open(pool, temp_db(pool), NULL, NULL, &c, &err), APR_SUCCESS);
    return dcr_sql_store(pool, c);
}

/* An expired upstream client at url; no registration_client_uri: a sweep that reaches it
 * finds nothing to call at the upstream (no network) and removes it here. */
static void put_upstream_client(dcr_store *s, const char *id, const char *url, long long expires_at)
{
    dcr_error err = {0};
    dcr_client *c =
        store_contract_client(pool, id, "spiffe://example.org/sweep", 1, expires_at, id, id);
    c->upstream = dcr_json_own(
        pool, json_pack("{s:s, s:s, s:s}", "kind", "rfc7591", "client_id", id, "url", url));
    c->upstream_secret = "{}";
    ck_assert_int_eq(s->ops->put(s, c, pool, &err), APR_SUCCESS);
}

static bool stored(dcr_store *s, const char *id)
{
    apr_array_header_t *clients;
    dcr_error err = {0};
    ck_assert_int_eq(s->ops->expired_upstream(s, 1000000, 100, pool, &clients, &err), APR_SUCCESS);
    for (int i = 0; i < clients->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(clients, i, dcr_client *)->client_id, id) == 0)
            return true;
    return false;
}

/* Records the sweep cannot finish (an upstream no endpoint names any more, or one that keeps
 * failing deletes) must not hold the head of the queue for ever: behind a full batch of them,
 * expired clients of a working upstream would never be deleted there, and stay usable. */
START_TEST(stuck_records_do_not_starve_the_sweep)
{
    const dcr_upstream *ups[] = {&known};
    dcr_store *s = open_store();
    dcr_error err = {0};
    long long removed = 0;

    put_upstream_client(s, "stuck", "https://gone.example/reg", 10);
    put_upstream_client(s, "due", known.url, 20);
    for (long long now = 100; now < 103; now++) /* one record per run */
        ck_assert_int_eq(dcr_upstream_sweep(s, ups, 1, now, 1, NULL, NULL, &removed, pool, &err),
                         APR_SUCCESS);
    ck_assert_msg(!stored(s, "due"), "the working upstream's client was never reached");
    ck_assert(stored(s, "stuck")); /* kept, still expired, until an endpoint names its upstream */
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("upstream_flow");
    TCase *tc = unit_tcase("sweep");
    tcase_add_test(tc, stuck_records_do_not_starve_the_sweep);
    suite_add_tcase(s, tc);
    return s;
}

DCR_UNIT_MAIN(suite)
