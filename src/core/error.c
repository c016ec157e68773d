#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MESSAGE_MAX 1024

static _Thread_local char last_message[MESSAGE_MAX];

const char *cantus_strerror(int code)
{
    switch (code) {
    case CANTUS_OK: return "success";
    case CANTUS_EINVAL: return "invalid argument";
    case CANTUS_ENOMEM: return "out of memory";
    case CANTUS_EIO: return "input/output error";
    case CANTUS_EFORMAT: return "malformed data";
    case CANTUS_EUNSUPPORTED: return "unsupported";
    case CANTUS_ERANGE: return "value out of range";
    case CANTUS_EDEVICE: return "audio device error";
    case CANTUS_EINTERRUPTED: return "interrupted";
    case CANTUS_ESTATE: return "invalid state";
    default: return "unknown error";
    }
}

const char *cantus_last_error(void)
{
    return last_message;
}

void cantus_clear_error(void)
{
    last_message[0] = '\0';
}

int cantus_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    return code;
}

int cantus_error_prefix(int code, const char *prefix)
{
    char tmp[MESSAGE_MAX];
    if (!prefix || !*prefix)
        return code;
    const char *rest = last_message[0] ? last_message : cantus_strerror(code);
    size_t np = strnlen(prefix, MESSAGE_MAX / 2);
    size_t nr = strnlen(rest, MESSAGE_MAX - np - 3);
    memcpy(tmp, prefix, np);
    memcpy(tmp + np, ": ", 2);
    memcpy(tmp + np + 2, rest, nr);
    tmp[np + 2 + nr] = '\0';
    memcpy(last_message, tmp, sizeof tmp);
    return code;
}
