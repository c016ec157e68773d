/* cantus: error codes and the thread-local error message.
 *
 * Every fallible call returns 0 or a negative CANTUS_E* code. The human detail
 * ("song.mid: track 3 ends inside an event") is kept per thread and read with
 * cantus_last_error(). The library never prints and never exits. */
#ifndef CANTUS_ERROR_H
#define CANTUS_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum cantus_error_code {
    CANTUS_OK = 0,
    CANTUS_EINVAL = -1,       /* a bad argument or setting */
    CANTUS_ENOMEM = -2,       /* out of memory, or a size too large to allocate */
    CANTUS_EIO = -3,          /* reading or writing a file failed */
    CANTUS_EFORMAT = -4,      /* input data is malformed (bad MIDI, corrupt model, ...) */
    CANTUS_EUNSUPPORTED = -5, /* well-formed input that cantus does not handle */
    CANTUS_ERANGE = -6,       /* a value outside what is allowed */
    CANTUS_EDEVICE = -7,      /* an audio device is missing or failed */
    CANTUS_EINTERRUPTED = -8, /* stopped on request (a signal) */
    CANTUS_ESTATE = -9,       /* a call in the wrong state (e.g. a token out of order) */
};

/* A short, static description of an error code. */
const char *cantus_strerror(int code);

/* The detail of the last error raised on this thread; "" if none. Valid until the next
 * failing call on the same thread. */
const char *cantus_last_error(void);

/* Forget the last error of this thread. */
void cantus_clear_error(void);

#ifdef __cplusplus
}
#endif
#endif
