#ifndef POLYGATE_CSODIUM_SHIM_H
#define POLYGATE_CSODIUM_SHIM_H
// libsodium (Debian: libsodium-dev).
#include <sodium.h>
#endif
