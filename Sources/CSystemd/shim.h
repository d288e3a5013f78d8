#ifndef POLYGATE_CSYSTEMD_SHIM_H
#define POLYGATE_CSYSTEMD_SHIM_H
// libsystemd (Debian: libsystemd-dev): sd_notify, sd_listen_fds_with_names, sd_journal_sendv.
// Variadic functions (sd_notifyf, sd_journal_send) are not imported into Swift; use the
// string and iovec forms instead.
#include <stdlib.h>
#include <sys/uio.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

static inline void cshim_sd_free_names(char **names) {
    if (names == 0) return;
    for (char **p = names; *p; p++) free(*p);
    free(names);
}
#endif
