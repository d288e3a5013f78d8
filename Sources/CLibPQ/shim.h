#ifndef POLYGATE_CLIBPQ_SHIM_H
#define POLYGATE_CLIBPQ_SHIM_H
// libpq (Debian: libpq-dev). Only the public client API is used.
#include <libpq-fe.h>

// The PG_DIAG_* field codes are character-literal macros, which Swift does not import.
static inline int cshim_pg_diag_severity(void) { return PG_DIAG_SEVERITY; }
static inline int cshim_pg_diag_severity_nonlocalized(void) { return PG_DIAG_SEVERITY_NONLOCALIZED; }
static inline int cshim_pg_diag_sqlstate(void) { return PG_DIAG_SQLSTATE; }
static inline int cshim_pg_diag_message_primary(void) { return PG_DIAG_MESSAGE_PRIMARY; }
static inline int cshim_pg_diag_message_detail(void) { return PG_DIAG_MESSAGE_DETAIL; }
static inline int cshim_pg_diag_message_hint(void) { return PG_DIAG_MESSAGE_HINT; }
#endif
