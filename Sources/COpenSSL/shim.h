#ifndef POLYGATE_COPENSSL_SHIM_H
#define POLYGATE_COPENSSL_SHIM_H
// The low-level SHA-2 functions (SHA256_Init…) are deprecated in OpenSSL 3 but kept; they are
// what makes HMAC cheap below (ADR 0027). Only this header uses them.
#define OPENSSL_SUPPRESS_DEPRECATED
// libcrypto from OpenSSL 3 (Debian: libssl-dev). Only libcrypto is linked, never libssl.
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/bn.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

// Elliptic-curve key handling with OpenSSL 3's non-deprecated API (EC_KEY is deprecated).
// OSSL_PARAM arrays hold raw pointers, so they are built and consumed here in C, where the
// lifetimes are plain (see reference/feasibility-notes.md §2).

// 1 when 0 < priv < order of the curve `nid` (priv is a big-endian scalar).
static inline int cshim_ec_scalar_valid(int nid, const unsigned char *priv, size_t privlen) {
    EC_GROUP *group = EC_GROUP_new_by_curve_name(nid);
    BIGNUM *d = BN_bin2bn(priv, (int)privlen, NULL);
    int ok = group && d && !BN_is_zero(d) && BN_cmp(d, EC_GROUP_get0_order(group)) < 0;
    BN_free(d);
    EC_GROUP_free(group);
    return ok;
}

// Writes the uncompressed public point d·G (0x04 || x || y). Returns the length, 0 on failure
// (invalid scalar or `out` too small).
static inline size_t cshim_ec_public_from_private(int nid, const unsigned char *priv, size_t privlen,
                                                  unsigned char *out, size_t outcap) {
    size_t written = 0;
    EC_GROUP *group = EC_GROUP_new_by_curve_name(nid);
    BIGNUM *d = BN_bin2bn(priv, (int)privlen, NULL);
    EC_POINT *point = group ? EC_POINT_new(group) : NULL;
    if (group && d && point && !BN_is_zero(d) && BN_cmp(d, EC_GROUP_get0_order(group)) < 0
        && EC_POINT_mul(group, point, d, NULL, NULL, NULL) == 1) {
        written = EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, out, outcap, NULL);
    }
    EC_POINT_free(point);
    BN_clear_free(d);
    EC_GROUP_free(group);
    return written;
}

// 1 when pub is an uncompressed point on the curve (and not the point at infinity).
static inline int cshim_ec_point_valid(int nid, const unsigned char *pub, size_t publen) {
    EC_GROUP *group = EC_GROUP_new_by_curve_name(nid);
    EC_POINT *point = group ? EC_POINT_new(group) : NULL;
    int ok = group && point && publen > 0 && pub[0] == 0x04
        && EC_POINT_oct2point(group, point, pub, publen, NULL) == 1
        && EC_POINT_is_on_curve(group, point, NULL) == 1
        && EC_POINT_is_at_infinity(group, point) == 0;
    EC_POINT_free(point);
    EC_GROUP_free(group);
    return ok;
}

// An EVP_PKEY for curve `nid` from an uncompressed public point and/or (priv != NULL) the
// private scalar. A given point is validated; a private key without its point (pub == NULL) is
// enough for ECDH and ECDSA signing. NULL on failure; free with EVP_PKEY_free.
static inline EVP_PKEY *cshim_ec_pkey(int nid, const unsigned char *priv, size_t privlen,
                                      const unsigned char *pub, size_t publen) {
    if (pub == NULL && priv == NULL) return NULL;
    if (pub != NULL && !cshim_ec_point_valid(nid, pub, publen)) return NULL;
    if (priv != NULL && !cshim_ec_scalar_valid(nid, priv, privlen)) return NULL;
    EVP_PKEY *pkey = NULL;
    BIGNUM *d = priv ? BN_bin2bn(priv, (int)privlen, NULL) : NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (bld && ctx && (priv == NULL || d)
        && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, OBJ_nid2sn(nid), 0)
        && (pub == NULL || OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, publen))
        && (priv == NULL || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d))
        && (params = OSSL_PARAM_BLD_to_param(bld)) != NULL
        && EVP_PKEY_fromdata_init(ctx) == 1) {
        if (EVP_PKEY_fromdata(ctx, &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1) pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(d);
    return pkey;
}

// Writes a private key's scalar as exactly `outlen` big-endian bytes. 1 on success.
static inline int cshim_ec_private_scalar(const EVP_PKEY *pkey, unsigned char *out, size_t outlen) {
    BIGNUM *d = NULL;
    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1) return 0;
    int ok = BN_bn2binpad(d, out, (int)outlen) == (int)outlen;
    BN_clear_free(d);
    return ok;
}

// Writes a key's uncompressed public point. Returns the length, 0 on failure.
static inline size_t cshim_ec_public_point(const EVP_PKEY *pkey, unsigned char *out, size_t outcap) {
    size_t len = 0;
    if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out, outcap, &len) != 1) return 0;
    return len;
}

// Why a server's certificate chain does not verify, for a message a person can act on (the
// decision itself is the TLS library's; this only explains a refusal). `ders`/`lengths`: the
// chain as the server sent it, leaf first. Trusts the system store (OpenSSL's default paths,
// Debian's /etc/ssl/certs) and each of `ca_files`. Checks `host` (a DNS name, or an IP address
// when `host_is_ip`) and the TLS server purpose. Returns X509_V_OK or an X509_V_ERR_* code;
// writes the issuer of the certificate that failed (one line) to `issuer`. -1 when the chain
// cannot be decoded.
static inline int cshim_x509_diagnose(const unsigned char *const *ders, const size_t *lengths, size_t count,
                                      const char *const *ca_files, size_t ca_count, const char *host, int host_is_ip,
                                      char *issuer, size_t issuer_cap) {
    if (count == 0) return -1;
    int result = -1;
    X509 *leaf = NULL;
    STACK_OF(X509) *chain = sk_X509_new_null();
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (issuer_cap > 0) issuer[0] = 0;
    if (!chain || !store || !ctx) goto done;
    for (size_t i = 0; i < count; i++) {
        const unsigned char *p = ders[i];
        X509 *cert = d2i_X509(NULL, &p, (long)lengths[i]);
        if (!cert) goto done;
        if (i == 0) leaf = cert; else if (!sk_X509_push(chain, cert)) { X509_free(cert); goto done; }
    }
    X509_STORE_set_default_paths(store);
    for (size_t i = 0; i < ca_count; i++) X509_STORE_load_file(store, ca_files[i]);
    if (X509_STORE_CTX_init(ctx, store, leaf, chain) != 1) goto done;
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
    if (host && host_is_ip) X509_VERIFY_PARAM_set1_ip_asc(param, host);
    else if (host) X509_VERIFY_PARAM_set1_host(param, host, 0);
    if (X509_verify_cert(ctx) == 1) {
        result = X509_V_OK;
    } else {
        result = X509_STORE_CTX_get_error(ctx);
        X509 *failed = X509_STORE_CTX_get_current_cert(ctx);
        if (!failed) failed = leaf;
        if (failed && issuer_cap > 0) X509_NAME_oneline(X509_get_issuer_name(failed), issuer, (int)issuer_cap);
    }
done:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_pop_free(chain, X509_free);
    X509_free(leaf);
    return result;
}

// A fresh EC key pair on curve `nid`. NULL on failure.
static inline EVP_PKEY *cshim_ec_generate(int nid) {
    return EVP_EC_gen(OBJ_nid2sn(nid));
}
// SHA-2 digests and HMACs without the EVP layer. OpenSSL 3's one-shot HMAC() fetches the
// digest, allocates contexts and takes locks on every call: 1.1 µs for a 40-byte message here,
// of which the four SHA-256 compressions (SHA-NI) are 0.15 µs. KDF-heavy code (HPKE, the MLS
// key schedule and secret tree) makes thousands of such calls per commit.
// `bits` is 256, 384 or 512; `out` holds bits / 8 bytes. Returns 0 for another `bits`.

typedef union { SHA256_CTX sha256; SHA512_CTX sha512; } cshim_sha2_ctx;

static inline int cshim_sha2_init(int bits, cshim_sha2_ctx *ctx) {
    switch (bits) {
    case 256: return SHA256_Init(&ctx->sha256);
    case 384: return SHA384_Init(&ctx->sha512);
    case 512: return SHA512_Init(&ctx->sha512);
    default: return 0;
    }
}

static inline void cshim_sha2_update(int bits, cshim_sha2_ctx *ctx, const void *data, size_t len) {
    if (len == 0) return;
    if (bits == 256) SHA256_Update(&ctx->sha256, data, len); else SHA512_Update(&ctx->sha512, data, len);
}

static inline void cshim_sha2_final(int bits, cshim_sha2_ctx *ctx, unsigned char *out) {
    switch (bits) {
    case 256: SHA256_Final(out, &ctx->sha256); break;
    case 384: SHA384_Final(out, &ctx->sha512); break;
    default: SHA512_Final(out, &ctx->sha512); break;
    }
}

static inline int cshim_sha2(int bits, const void *data, size_t len, unsigned char *out) {
    cshim_sha2_ctx ctx;
    if (!cshim_sha2_init(bits, &ctx)) return 0;
    cshim_sha2_update(bits, &ctx, data, len);
    cshim_sha2_final(bits, &ctx, out);
    OPENSSL_cleanse(&ctx, sizeof ctx);
    return 1;
}

// HMAC (RFC 2104) over SHA-2; the message in up to three parts (HKDF-Expand's T(n-1) | info |
// counter without joining them first). Every key-derived byte is wiped before returning.
static inline int cshim_hmac_sha2(int bits, const unsigned char *key, size_t keylen,
                                  const void *m1, size_t l1, const void *m2, size_t l2,
                                  const void *m3, size_t l3, unsigned char *out) {
    size_t block = bits == 256 ? 64 : 128, outlen = (size_t)bits / 8;
    unsigned char k[128] = {0}, pad[128], inner[64];
    cshim_sha2_ctx ctx;
    if (bits != 256 && bits != 384 && bits != 512) return 0;
    if (keylen > block) {
        cshim_sha2(bits, key, keylen, k);
    } else if (keylen > 0) {
        memcpy(k, key, keylen);
    }
    for (size_t i = 0; i < block; i++) pad[i] = k[i] ^ 0x36;
    cshim_sha2_init(bits, &ctx);
    cshim_sha2_update(bits, &ctx, pad, block);
    cshim_sha2_update(bits, &ctx, m1, l1);
    cshim_sha2_update(bits, &ctx, m2, l2);
    cshim_sha2_update(bits, &ctx, m3, l3);
    cshim_sha2_final(bits, &ctx, inner);
    for (size_t i = 0; i < block; i++) pad[i] = k[i] ^ 0x5c;
    cshim_sha2_init(bits, &ctx);
    cshim_sha2_update(bits, &ctx, pad, block);
    cshim_sha2_update(bits, &ctx, inner, outlen);
    cshim_sha2_final(bits, &ctx, out);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(pad, sizeof pad);
    OPENSSL_cleanse(inner, sizeof inner);
    OPENSSL_cleanse(&ctx, sizeof ctx);
    return 1;
}
#endif
