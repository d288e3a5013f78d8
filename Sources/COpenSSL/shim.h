#ifndef POLYGATE_COPENSSL_SHIM_H
#define POLYGATE_COPENSSL_SHIM_H
// libcrypto from OpenSSL 3 (Debian: libssl-dev). Only libcrypto is linked, never libssl.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#endif
