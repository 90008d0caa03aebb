#ifndef PT_LOG_H
#define PT_LOG_H

/* One line per event, key=value (logfmt), to stderr. The format gives the keys after
 * ts and level, e.g. pt_log_info("msg=listening url=%s", url). Never log PII unmasked. */
typedef enum { PT_LOG_DEBUG, PT_LOG_INFO, PT_LOG_WARN, PT_LOG_ERROR } pt_log_level;

void pt_log_set_level(pt_log_level level);
int pt_log_parse_level(const char *s, pt_log_level *out);
void pt_log(pt_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pt_log_debug(...) pt_log(PT_LOG_DEBUG, __VA_ARGS__)
#define pt_log_info(...)  pt_log(PT_LOG_INFO, __VA_ARGS__)
#define pt_log_warn(...)  pt_log(PT_LOG_WARN, __VA_ARGS__)
#define pt_log_error(...) pt_log(PT_LOG_ERROR, __VA_ARGS__)

#endif
