#include "log.h"

#include <stdarg.h>
#include <stdio.h>

void dcr_log(const dcr_logger *log, int level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    if (!log || !log->fn)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log->fn(log->baton, level, buf);
}
