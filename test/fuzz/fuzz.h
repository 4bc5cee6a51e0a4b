/* Shared by the libFuzzer targets and the corpus replay: one APR pool per input. */
#ifndef DCR_FUZZ_H
#define DCR_FUZZ_H

#include <apr_general.h>
#include <apr_pools.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional one-time set-up (libFuzzer calls it when a target defines it). */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* A pool for one input; destroy it at the end of the input. */
static inline apr_pool_t *fuzz_pool(void)
{
    static int started;
    apr_pool_t *p = NULL;
    if (!started) {
        apr_initialize();
        started = 1;
    }
    apr_pool_create(&p, NULL);
    return p;
}

/* APR pool memory is mmap'd, so LeakSanitizer cannot see that a fixture built once in
 * LLVMFuzzerInitialize is still referenced: build it between fuzz_fixture_begin (leak tracking
 * off, the fixture's pool) and fuzz_fixture_end. The hooks are weak: absent without sanitizers.
 * Per-input leak checks still see all per-input memory. */
void __lsan_disable(void) __attribute__((weak));
void __lsan_enable(void) __attribute__((weak));

static inline apr_pool_t *fuzz_fixture_begin(void)
{
    if (__lsan_disable)
        __lsan_disable();
    return fuzz_pool();
}

static inline void fuzz_fixture_end(void)
{
    if (__lsan_enable)
        __lsan_enable();
}

#endif
