/* The core logs through a function the host injects (httpd glue: ap_log_rerror; tests: a
 * collector), so the core never sees httpd. Levels follow syslog numbering like APLOG_*. */
#ifndef DCR_LOG_H
#define DCR_LOG_H

enum { DCR_LOG_ERR = 3, DCR_LOG_WARNING = 4, DCR_LOG_NOTICE = 5, DCR_LOG_INFO = 6, DCR_LOG_DEBUG = 7 };

typedef struct dcr_logger {
    void (*fn)(void *baton, int level, const char *msg);
    void *baton;
} dcr_logger;

/* printf-style; a NULL logger or fn drops the message. Never pass tokens or secrets. */
void dcr_log(const dcr_logger *log, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
