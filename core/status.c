/* status.c: names of status codes. */
#include "plab.h"

const char *plab_status_str(plab_status s)
{
    switch (s) {
    case PLAB_OK:
        return "ok";
    case PLAB_E_INVALID:
        return "invalid";
    case PLAB_E_NOMEM:
        return "out of memory";
    case PLAB_E_IO:
        return "i/o error";
    case PLAB_E_FORMAT:
        return "bad format";
    case PLAB_E_UNSUPPORTED:
        return "unsupported";
    case PLAB_E_DIVERGED:
        return "diverged";
    case PLAB_E_STATE:
        return "wrong state";
    }
    return "unknown";
}
