/*
 * listcare.bounces._postfix_scan: the compiled core of the Postfix log reader.
 *
 * scan(block, first_line, classify_sent) reads one block of complete log lines and
 * returns, column-wise, the rows of the successful deliveries ("status=sent") among the
 * lines that hold ": to=<", ready for listcare.bounces.read.Columns. Every other such
 * line (failures, deferrals, and any line this scanner does not read exactly like the
 * regular expression postfix._LINE) is handed back to Python, which reads it the
 * reference way. The scanner is only ever trusted when it says "matched"; a line it
 * cannot match is never guessed at. tests/test_postfix_scan.py checks it against the
 * Python readers.
 *
 * Two phases: phase 1 (finding, matching, hashing, counting newlines, and for the other
 * lines splitting and masking an ASCII diagnostic as postfix.split_diagnostic and
 * read.mask_tokens do: see "diagnostics") makes no Python
 * object and runs without the GIL, into C-owned memory; phase 2 turns that into Python
 * values. scan() runs both; prescan()/prescan_background() run phase 1 -- the latter in
 * one worker thread, so that the reader's Python work on one block overlaps phase 1 of
 * the next -- and finish() runs phase 2 (see the "handles" section).
 *
 * Memory safety: every read is bounds-checked against the block length (AT() below
 * returns 0 past the end of a line, and every loop has an explicit bound); there are no
 * fixed-size buffers that a line's content is copied into, except the 128-byte BLAKE2b
 * block, which update() fills in bounded pieces, and the 64-byte buffer a domain is
 * lower-cased through, filled in bounded pieces too (a masked diagnostic goes into a buffer
 * of its exact length, counted first, freed with the rows). The block phase 1 reads is a bytes
 * object (immutable) that the handle keeps a reference to until the worker is done.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------------ BLAKE2b
 * After RFC 7693 (Saarinen & Aumasson, "The BLAKE2 Cryptographic Hash and Message
 * Authentication Code (MAC)"), section 3 and the reference code of its Appendix C:
 * unkeyed, digest_size=12, no salt or personalisation -- hashlib.blake2b(digest_size=12).
 * The update copies whole pieces instead of one byte at a time. Measured on the benchmark's
 * delivery lines (253 bytes on average): ~0.25 us a line with the hex digest, against
 * ~0.45 us for hashlib.blake2b(line, digest_size=12).hexdigest() from Python. hashlib's
 * compression function is ~15% faster per block (vectorised), but calling it from C
 * would add a hash object, a call and a digest object per row. */
typedef struct {
    uint8_t b[128];
    uint64_t h[8];
    uint64_t t[2];
    size_t c;
} b2b_ctx;

static const uint64_t b2b_iv[8] = {
    0x6A09E667F3BCC908ULL, 0xBB67AE8584CAA73BULL, 0x3C6EF372FE94F82BULL, 0xA54FF53A5F1D36F1ULL,
    0x510E527FADE682D1ULL, 0x9B05688C2B3E6C1FULL, 0x1F83D9ABFB41BD6BULL, 0x5BE0CD19137E2179ULL,
};

static const uint8_t b2b_sigma[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
};

#define ROTR64(x, y) (((x) >> (y)) ^ ((x) << (64 - (y))))
#define B2B_G(a, b, c, d, x, y)             \
    do {                                    \
        v[a] = v[a] + v[b] + (x);           \
        v[d] = ROTR64(v[d] ^ v[a], 32);     \
        v[c] = v[c] + v[d];                 \
        v[b] = ROTR64(v[b] ^ v[c], 24);     \
        v[a] = v[a] + v[b] + (y);           \
        v[d] = ROTR64(v[d] ^ v[a], 16);     \
        v[c] = v[c] + v[d];                 \
        v[b] = ROTR64(v[b] ^ v[c], 63);     \
    } while (0)

static uint64_t b2b_get64(const uint8_t *p)
{
    /* little-endian whatever the host */
    return (uint64_t)p[0] ^ ((uint64_t)p[1] << 8) ^ ((uint64_t)p[2] << 16) ^ ((uint64_t)p[3] << 24) ^
           ((uint64_t)p[4] << 32) ^ ((uint64_t)p[5] << 40) ^ ((uint64_t)p[6] << 48) ^ ((uint64_t)p[7] << 56);
}

static void b2b_compress(b2b_ctx *ctx, int last)
{
    uint64_t v[16], m[16];
    int i;
    for (i = 0; i < 8; i++) {
        v[i] = ctx->h[i];
        v[i + 8] = b2b_iv[i];
    }
    v[12] ^= ctx->t[0];
    v[13] ^= ctx->t[1];
    if (last)
        v[14] = ~v[14];
    for (i = 0; i < 16; i++)
        m[i] = b2b_get64(&ctx->b[8 * i]);
    /* the 12 rounds written out: with constant round numbers the compiler resolves the
     * sigma look-ups at compile time (~25% faster than the reference's loop) */
#define B2B_ROUND(r)                                                           \
    do {                                                                       \
        B2B_G(0, 4, 8, 12, m[b2b_sigma[r][0]], m[b2b_sigma[r][1]]);            \
        B2B_G(1, 5, 9, 13, m[b2b_sigma[r][2]], m[b2b_sigma[r][3]]);            \
        B2B_G(2, 6, 10, 14, m[b2b_sigma[r][4]], m[b2b_sigma[r][5]]);           \
        B2B_G(3, 7, 11, 15, m[b2b_sigma[r][6]], m[b2b_sigma[r][7]]);           \
        B2B_G(0, 5, 10, 15, m[b2b_sigma[r][8]], m[b2b_sigma[r][9]]);           \
        B2B_G(1, 6, 11, 12, m[b2b_sigma[r][10]], m[b2b_sigma[r][11]]);         \
        B2B_G(2, 7, 8, 13, m[b2b_sigma[r][12]], m[b2b_sigma[r][13]]);          \
        B2B_G(3, 4, 9, 14, m[b2b_sigma[r][14]], m[b2b_sigma[r][15]]);          \
    } while (0)
    B2B_ROUND(0);
    B2B_ROUND(1);
    B2B_ROUND(2);
    B2B_ROUND(3);
    B2B_ROUND(4);
    B2B_ROUND(5);
    B2B_ROUND(6);
    B2B_ROUND(7);
    B2B_ROUND(8);
    B2B_ROUND(9);
    B2B_ROUND(10);
    B2B_ROUND(11);
#undef B2B_ROUND
    for (i = 0; i < 8; i++)
        ctx->h[i] ^= v[i] ^ v[i + 8];
}

#define DIGEST_BYTES 12

static void b2b_init(b2b_ctx *ctx)
{
    int i;
    for (i = 0; i < 8; i++)
        ctx->h[i] = b2b_iv[i];
    ctx->h[0] ^= 0x01010000ULL ^ DIGEST_BYTES; /* depth 1, fanout 1, no key */
    ctx->t[0] = ctx->t[1] = 0;
    ctx->c = 0;
}

static void b2b_update(b2b_ctx *ctx, const uint8_t *in, size_t inlen)
{
    while (inlen > 0) {
        size_t take;
        if (ctx->c == 128) { /* a full block is compressed only once more input follows */
            ctx->t[0] += 128;
            if (ctx->t[0] < 128)
                ctx->t[1]++;
            b2b_compress(ctx, 0);
            ctx->c = 0;
        }
        take = 128 - ctx->c;
        if (take > inlen)
            take = inlen;
        memcpy(ctx->b + ctx->c, in, take);
        ctx->c += take;
        in += take;
        inlen -= take;
    }
}

/* the digest as 24 lower-case hex characters (hashlib's hexdigest()), into out (no
 * Python object: phase 1 runs without the GIL) */
static void b2b_final_hex(b2b_ctx *ctx, char out[2 * DIGEST_BYTES])
{
    static const char hexd[] = "0123456789abcdef";
    int i;
    ctx->t[0] += ctx->c;
    if (ctx->t[0] < ctx->c)
        ctx->t[1]++;
    memset(ctx->b + ctx->c, 0, 128 - ctx->c);
    b2b_compress(ctx, 1);
    for (i = 0; i < DIGEST_BYTES; i++) {
        uint8_t byte = (uint8_t)(ctx->h[i >> 3] >> (8 * (i & 7)));
        out[2 * i] = hexd[byte >> 4];
        out[2 * i + 1] = hexd[byte & 15];
    }
}

static PyObject *hex_str(const char hex[2 * DIGEST_BYTES])
{
    PyObject *out = PyUnicode_New(2 * DIGEST_BYTES, 127);
    if (out != NULL)
        memcpy(PyUnicode_1BYTE_DATA(out), hex, 2 * DIGEST_BYTES);
    return out;
}

/* ------------------------------------------------------------------------ the line
 * fields of one delivery line: offsets into the line, [x0, x1) */
typedef struct {
    Py_ssize_t ts0, ts1, q0, q1, to0, to1, or0, or1, re0, re1, d0, d1, w0, w1, r0, r1;
    int has_orig;
} fields;

#define AT(k) ((k) < n ? p[k] : 0) /* 0 past the end: no test below accepts 0 */
#define DIG(ch) ((ch) >= '0' && (ch) <= '9')
#define UPPER(ch) ((ch) >= 'A' && (ch) <= 'Z')
#define LOWER(ch) ((ch) >= 'a' && (ch) <= 'z')
#define ALNUM(ch) (DIG(ch) || UPPER(ch) || LOWER(ch))
#define WORD(ch) (ALNUM(ch) || (ch) == '_') /* \w of a bytes pattern */
/* \s of a bytes pattern: space, \t \n \v \f \r */
#define SPACE(ch) ((ch) == ' ' || ((ch) >= '\t' && (ch) <= '\r'))

static int lit(const unsigned char *p, Py_ssize_t n, Py_ssize_t i, const char *s, Py_ssize_t len)
{
    return i >= 0 && len <= n - i && memcmp(p + i, s, (size_t)len) == 0;
}
#define LIT(i, s) lit(p, n, (i), (s), (Py_ssize_t)(sizeof(s) - 1))

/* "\d\d:\d\d:\d\d" at i */
static int hms(const unsigned char *p, Py_ssize_t n, Py_ssize_t i)
{
    return DIG(AT(i)) && DIG(AT(i + 1)) && AT(i + 2) == ':' && DIG(AT(i + 3)) && DIG(AT(i + 4)) &&
           AT(i + 5) == ':' && DIG(AT(i + 6)) && DIG(AT(i + 7));
}

/* "[A-Z][a-z]{2} [ \d]\d" at i */
static int mon_day(const unsigned char *p, Py_ssize_t n, Py_ssize_t i)
{
    return UPPER(AT(i)) && LOWER(AT(i + 1)) && LOWER(AT(i + 2)) && AT(i + 3) == ' ' &&
           (AT(i + 4) == ' ' || DIG(AT(i + 4))) && DIG(AT(i + 5));
}

static int digits4(const unsigned char *p, Py_ssize_t n, Py_ssize_t i)
{
    return DIG(AT(i)) && DIG(AT(i + 1)) && DIG(AT(i + 2)) && DIG(AT(i + 3));
}

/* Postfix's TS alternatives (postfix.TS); the end of the timestamp, or -1. None of the
 * optional parts can be given back to let the rest match: each is followed by a byte it
 * does not start with, so this greedy reading is the regex's only reading. */
static Py_ssize_t timestamp(const unsigned char *p, Py_ssize_t n, Py_ssize_t i)
{
    if (mon_day(p, n, i)) { /* Mmm dd[ yyyy] hh:mm:ss[.f] */
        i += 6;
        if (AT(i) == ' ' && digits4(p, n, i + 1))
            i += 5; /* with a year, " dddd" cannot be the start of " dd:" */
        if (AT(i) != ' ' || !hms(p, n, i + 1))
            return -1;
        i += 9;
        if (AT(i) == '.' && DIG(AT(i + 1))) {
            i += 1;
            while (i < n && DIG(p[i]))
                i++;
        }
        return i;
    }
    if (!digits4(p, n, i))
        return -1;
    if (AT(i + 4) == ' ') { /* yyyy Mmm dd hh:mm:ss */
        if (!mon_day(p, n, i + 5) || AT(i + 11) != ' ' || !hms(p, n, i + 12))
            return -1;
        return i + 20;
    }
    /* yyyy-mm-dd[T ]hh:mm:ss[.f][Z|+hh:mm|+hhmm] */
    if (!(AT(i + 4) == '-' && DIG(AT(i + 5)) && DIG(AT(i + 6)) && AT(i + 7) == '-' && DIG(AT(i + 8)) &&
          DIG(AT(i + 9)) && (AT(i + 10) == 'T' || AT(i + 10) == ' ') && hms(p, n, i + 11)))
        return -1;
    i += 19;
    if (AT(i) == '.' && DIG(AT(i + 1))) {
        i += 1;
        while (i < n && DIG(p[i]))
            i++;
    }
    if (AT(i) == 'Z')
        i += 1;
    else if ((AT(i) == '+' || AT(i) == '-') && DIG(AT(i + 1)) && DIG(AT(i + 2))) {
        if (AT(i + 3) == ':' && DIG(AT(i + 4)) && DIG(AT(i + 5)))
            i += 6;
        else if (DIG(AT(i + 3)) && DIG(AT(i + 4)))
            i += 5;
    }
    return i;
}

/* [^>]* then ">, ": the end of the value, or -1 */
static Py_ssize_t angle_value(const unsigned char *p, Py_ssize_t n, Py_ssize_t i)
{
    const unsigned char *e = i < n ? memchr(p + i, '>', (size_t)(n - i)) : NULL;
    Py_ssize_t k;
    if (e == NULL)
        return -1;
    k = e - p;
    return (AT(k + 1) == ',' && AT(k + 2) == ' ') ? k : -1;
}

/* [^,]* then ", ": the end of the value, or -1 */
static Py_ssize_t comma_value(const unsigned char *p, Py_ssize_t n, Py_ssize_t i)
{
    const unsigned char *e = i < n ? memchr(p + i, ',', (size_t)(n - i)) : NULL;
    Py_ssize_t k;
    if (e == NULL)
        return -1;
    k = e - p;
    return AT(k + 1) == ' ' ? k : -1;
}

/* \d{1,3} followed by byte `after`: the end, or -1 */
static Py_ssize_t digits13(const unsigned char *p, Py_ssize_t n, Py_ssize_t i, unsigned char after)
{
    Py_ssize_t k = 0;
    while (k < 3 && DIG(AT(i + k)))
        k++;
    return (k >= 1 && AT(i + k) == after) ? i + k : -1;
}

/* postfix._LINE.match(line): 1 and the fields, or 0. The line holds no newline (the
 * regex's [^>\n] and [^,\n] classes are therefore [^>] and [^,]). */
static int match_line(const unsigned char *p, Py_ssize_t n, fields *f)
{
    Py_ssize_t i = 0, k;
    if (AT(0) == '<') { /* (?:<\d{1,3}>)? -- without it no timestamp could start at "<" */
        k = digits13(p, n, 1, '>');
        if (k < 0)
            return 0;
        i = k + 1;
    }
    f->ts0 = i;
    i = timestamp(p, n, i);
    if (i < 0)
        return 0;
    f->ts1 = i;
    if (AT(i) != ' ')
        return 0;
    i++;
    k = i; /* \S+ */
    while (i < n && !SPACE(p[i]))
        i++;
    if (i == k || AT(i) != ' ')
        return 0;
    i++;
    if (!LIT(i, "postfix")) /* postfix[\w.-]*\/[\w./-]+ */
        return 0;
    i += 7;
    while (i < n && (WORD(p[i]) || p[i] == '.' || p[i] == '-'))
        i++;
    if (AT(i) != '/')
        return 0;
    i++;
    k = i;
    while (i < n && (WORD(p[i]) || p[i] == '.' || p[i] == '/' || p[i] == '-'))
        i++;
    if (i == k)
        return 0;
    if (AT(i) == '[') { /* (?:\[\d+\])? -- without it ": " could not match at "[" */
        k = ++i;
        while (i < n && DIG(p[i]))
            i++;
        if (i == k || AT(i) != ']')
            return 0;
        i++;
    }
    if (!LIT(i, ": "))
        return 0;
    i += 2;
    f->q0 = i; /* ([0-9A-Za-z]+): to=< */
    while (i < n && ALNUM(p[i]))
        i++;
    if (i == f->q0 || !LIT(i, ": to=<"))
        return 0;
    f->q1 = i;
    i += 6;
    f->to0 = i;
    k = angle_value(p, n, i);
    if (k < 0)
        return 0;
    f->to1 = k;
    i = k + 3;
    f->has_orig = 0;
    f->or0 = f->or1 = i;
    if (LIT(i, "orig_to=<")) { /* (?:orig_to=<([^>\n]*)>, )? -- else "relay=" fails here */
        k = angle_value(p, n, i + 9);
        if (k < 0)
            return 0;
        f->has_orig = 1;
        f->or0 = i + 9;
        f->or1 = k;
        i = k + 3;
    }
    if (!LIT(i, "relay="))
        return 0;
    i += 6;
    f->re0 = i;
    k = comma_value(p, n, i);
    if (k < 0)
        return 0;
    f->re1 = k;
    i = k + 2;
    if (LIT(i, "conn_use=")) { /* (?:conn_use=\d+, )? -- else "delay=", "dsn=" fail here */
        k = i + 9;
        while (k < n && DIG(p[k]))
            k++;
        if (k == i + 9 || AT(k) != ',' || AT(k + 1) != ' ')
            return 0;
        i = k + 2;
    }
    if (LIT(i, "delay=")) { /* (?:delay=[^,\n]*, )? */
        k = comma_value(p, n, i + 6);
        if (k < 0)
            return 0;
        i = k + 2;
    }
    if (LIT(i, "delays=")) { /* (?:delays=[^,\n]*, )? */
        k = comma_value(p, n, i + 7);
        if (k < 0)
            return 0;
        i = k + 2;
    }
    if (!LIT(i, "dsn="))
        return 0;
    i += 4;
    f->d0 = i; /* (\d\.\d{1,3}\.\d{1,3}), status= */
    if (!DIG(AT(i)) || AT(i + 1) != '.')
        return 0;
    k = digits13(p, n, i + 2, '.');
    if (k < 0)
        return 0;
    k = digits13(p, n, k + 1, ',');
    if (k < 0)
        return 0;
    f->d1 = k;
    i = k;
    if (!LIT(i, ", status="))
        return 0;
    i += 9;
    f->w0 = i; /* ([A-Za-z]+)([^\n]*) */
    while (i < n && (UPPER(p[i]) || LOWER(p[i])))
        i++;
    if (i == f->w0)
        return 0;
    f->w1 = i;
    f->r0 = i;
    f->r1 = n;
    return 1;
}

/* newlines in p[0:n] (a loop the compiler vectorises) */
static Py_ssize_t count_newlines(const unsigned char *p, Py_ssize_t n)
{
    Py_ssize_t i, c = 0;
    for (i = 0; i < n; i++)
        c += p[i] == '\n';
    return c;
}

/* the start of the line holding offset k, looking back no further than `floor` (a line
 * start) */
static Py_ssize_t line_start(const unsigned char *buf, Py_ssize_t floor, Py_ssize_t k)
{
    while (k > floor && buf[k - 1] != '\n')
        k--;
    return k;
}

/* ------------------------------------------------------------------------ caches
 * small per-call tables of values that repeat (pointing into the block, which outlives
 * the call's use of them); when full they are emptied, which only costs a look-up again */
#define NKEYS 64
#define NRELAYS 64

typedef struct {
    const unsigned char *dsn;
    Py_ssize_t dsn_len;
    const unsigned char *reply; /* NULL: no reply code */
    PyObject *dsn_str, *reply_str, *reason, *kind;
} key_entry;

typedef struct {
    const unsigned char *relay;
    Py_ssize_t len;
    PyObject *remote;
} relay_entry;

typedef struct {
    key_entry keys[NKEYS];
    int nkeys;
    relay_entry relays[NRELAYS];
    int nrelays;
} caches;

static void clear_keys(caches *c)
{
    int i;
    for (i = 0; i < c->nkeys; i++) {
        Py_XDECREF(c->keys[i].dsn_str);
        Py_XDECREF(c->keys[i].reply_str);
        Py_XDECREF(c->keys[i].reason);
        Py_XDECREF(c->keys[i].kind);
    }
    c->nkeys = 0;
}

static void clear_relays(caches *c)
{
    int i;
    for (i = 0; i < c->nrelays; i++)
        Py_XDECREF(c->relays[i].remote);
    c->nrelays = 0;
}

/* postfix._relay_host: None for "none", "local..." and "private/...", else the host before "[" */
static PyObject *relay_host(const unsigned char *r, Py_ssize_t len)
{
    const unsigned char *b;
    if ((len == 4 && memcmp(r, "none", 4) == 0) || (len >= 5 && memcmp(r, "local", 5) == 0) ||
        (len >= 8 && memcmp(r, "private/", 8) == 0))
        Py_RETURN_NONE;
    b = len > 0 ? memchr(r, '[', (size_t)len) : NULL;
    if (b != NULL)
        len = b - r;
    if (len == 0)
        Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8((const char *)r, len, "replace");
}

static PyObject *cached_relay(caches *c, const unsigned char *r, Py_ssize_t len)
{
    int i;
    PyObject *v;
    for (i = 0; i < c->nrelays; i++) {
        relay_entry *e = &c->relays[i];
        if (e->len == len && memcmp(e->relay, r, (size_t)len) == 0) {
            Py_INCREF(e->remote);
            return e->remote;
        }
    }
    v = relay_host(r, len);
    if (v == NULL)
        return NULL;
    if (c->nrelays == NRELAYS)
        clear_relays(c);
    c->relays[c->nrelays].relay = r;
    c->relays[c->nrelays].len = len;
    Py_INCREF(v);
    c->relays[c->nrelays].remote = v;
    c->nrelays++;
    return v;
}

static PyObject *ascii_str(const unsigned char *s, Py_ssize_t len)
{
    PyObject *o = PyUnicode_New(len, 127);
    if (o != NULL && len > 0)
        memcpy(PyUnicode_1BYTE_DATA(o), s, (size_t)len);
    return o;
}

/* (dsn, reply) of a sent row and its (reason, kind) from classify_sent, once per distinct
 * key; reply: the 3 digits opening the text in the parentheses, else none */
static key_entry *cached_key(caches *c, const unsigned char *dsn, Py_ssize_t dsn_len,
                             const unsigned char *reply, PyObject *classify)
{
    int i;
    key_entry *e;
    PyObject *res;
    for (i = 0; i < c->nkeys; i++) {
        e = &c->keys[i];
        if (e->dsn_len == dsn_len && memcmp(e->dsn, dsn, (size_t)dsn_len) == 0 &&
            (e->reply == NULL ? reply == NULL : (reply != NULL && memcmp(e->reply, reply, 3) == 0)))
            return e;
    }
    if (c->nkeys == NKEYS)
        clear_keys(c);
    e = &c->keys[c->nkeys];
    memset(e, 0, sizeof(*e));
    e->dsn = dsn;
    e->dsn_len = dsn_len;
    e->reply = reply;
    e->dsn_str = ascii_str(dsn, dsn_len);
    if (e->dsn_str == NULL)
        return NULL;
    c->nkeys++; /* from here on clear_keys releases what is set */
    if (reply != NULL) {
        e->reply_str = ascii_str(reply, 3);
        if (e->reply_str == NULL)
            return NULL;
    } else {
        Py_INCREF(Py_None);
        e->reply_str = Py_None;
    }
    res = PyObject_CallFunctionObjArgs(classify, e->dsn_str, e->reply_str, NULL);
    if (res == NULL)
        return NULL;
    if (!PyTuple_Check(res) || PyTuple_GET_SIZE(res) != 2) {
        Py_DECREF(res);
        PyErr_SetString(PyExc_TypeError, "classify_sent must return a (reason, kind) tuple");
        return NULL;
    }
    e->reason = PyTuple_GET_ITEM(res, 0);
    e->kind = PyTuple_GET_ITEM(res, 1);
    Py_INCREF(e->reason);
    Py_INCREF(e->kind);
    Py_DECREF(res);
    return e;
}

/* ------------------------------------------------------------------------ scan */
enum { C_POS, C_EID, C_TS, C_RCPT, C_KIND, C_REASON, C_STATUS, C_REPLY, C_DIAG, C_REMOTE, C_QUEUE, NCOLS };

/* the columns are lists of the piece's row count, filled in place: item i of column col
 * (a new reference; NULL: the error is passed on) */
static int put_steal(PyObject **cols, int col, Py_ssize_t i, PyObject *item)
{
    if (item == NULL)
        return -1;
    PyList_SET_ITEM(cols[col], i, item);
    return 0;
}

static int put(PyObject **cols, int col, Py_ssize_t i, PyObject *item)
{
    Py_INCREF(item);
    PyList_SET_ITEM(cols[col], i, item);
    return 0;
}

static int append_steal(PyObject *list, PyObject *item)
{
    int r;
    if (item == NULL)
        return -1;
    r = PyList_Append(list, item);
    Py_DECREF(item);
    return r;
}

/* ------------------------------------------------------------------------ phase 1
 * Everything that needs no Python object, run without the GIL (so that another thread
 * -- the reader's Python work on the previous piece -- runs meanwhile): find the ": to=<"
 * lines of one piece of a block, match them, hash their event ids, count the newlines,
 * flag a possible expiry line. The results go into C-owned memory (PyMem_Raw*, which
 * needs no GIL); phase 2 (finish_rows) turns them into today's Python values. */
typedef struct {
    Py_ssize_t ls, n;  /* the line: offset in the piece, length (no newline) */
    Py_ssize_t line;   /* newlines in the piece before it */
    fields f;          /* valid if matched */
    unsigned char matched, sent, lower; /* lower: the recipient's domain has upper-case letters */
    char eid[2 * DIGEST_BYTES]; /* valid if matched */
    /* a matched line that is not a delivery, its text after "status=x" pure ASCII: that
     * text read as postfix.split_diagnostic and read.mask_tokens read it (see read_text) */
    unsigned char split;     /* the fields below are valid */
    unsigned char reply_len; /* the reply code: the diagnostic's first 0 to 3 bytes */
    unsigned char cmd;       /* the SMTP command (cmd_names) */
    Py_ssize_t d0, d1, m0, m1; /* the diagnostic, the remote MTA: offsets in the line */
    unsigned char *masked;   /* the masked diagnostic (PyMem_Raw; NULL: the diagnostic) */
    Py_ssize_t masked_len;
} row_t;

typedef struct {
    const unsigned char *base; /* the piece: the block's buffer from its start */
    Py_ssize_t len;
    row_t *rows;
    Py_ssize_t nrows, cap;
    Py_ssize_t newlines;
    int expiry;
    int nomem; /* rows could not be allocated: finish raises MemoryError */
} pre_t;

/* the recipient: orig_to when logged and not empty, else to */
static void recipient_bytes(const unsigned char *p, const fields *f, const unsigned char **rb, Py_ssize_t *len)
{
    if (f->has_orig && f->or1 > f->or0) {
        *rb = p + f->or0;
        *len = f->or1 - f->or0;
    } else {
        *rb = p + f->to0;
        *len = f->to1 - f->to0;
    }
}

/* where the domain starts (after the last "@"; len without one) -- postfix._norm_bytes */
static Py_ssize_t domain_start(const unsigned char *rb, Py_ssize_t len)
{
    Py_ssize_t i;
    for (i = len - 1; i >= 0; i--)
        if (rb[i] == '@')
            return i + 1;
    return len;
}

/* records.event_id("postfix", line, recipient, 0) of a matched line, the recipient's domain
 * lower-cased (ASCII only, as bytes.lower()); sets r->lower */
static void event_id_hex(row_t *r, const unsigned char *p)
{
    static const uint8_t prefix[] = {'p', 'o', 's', 't', 'f', 'i', 'x', 0};
    static const uint8_t suffix[] = {0, '0'};
    static const uint8_t nul[] = {0};
    const unsigned char *rb;
    Py_ssize_t rb_len, d, i;
    b2b_ctx h;
    b2b_init(&h);
    b2b_update(&h, prefix, sizeof(prefix));
    b2b_update(&h, p, (size_t)r->n);
    b2b_update(&h, nul, 1);
    recipient_bytes(p, &r->f, &rb, &rb_len);
    d = domain_start(rb, rb_len);
    for (i = d; i < rb_len; i++)
        if (UPPER(rb[i]))
            break;
    r->lower = i < rb_len;
    if (!r->lower)
        b2b_update(&h, rb, (size_t)rb_len);
    else {
        unsigned char low[64]; /* the domain in bounded pieces */
        b2b_update(&h, rb, (size_t)d);
        for (i = d; i < rb_len;) {
            Py_ssize_t k, take = rb_len - i < (Py_ssize_t)sizeof(low) ? rb_len - i : (Py_ssize_t)sizeof(low);
            for (k = 0; k < take; k++)
                low[k] = UPPER(rb[i + k]) ? (unsigned char)(rb[i + k] + 32) : rb[i + k];
            b2b_update(&h, low, (size_t)take);
            i += take;
        }
    }
    b2b_update(&h, suffix, sizeof(suffix));
    b2b_final_hex(&h, r->eid);
}

static row_t *new_row(pre_t *pr)
{
    if (pr->nrows == pr->cap) {
        Py_ssize_t cap = pr->cap ? 2 * pr->cap : 64;
        row_t *rows;
        if ((size_t)cap > PY_SSIZE_T_MAX / sizeof(row_t))
            return NULL;
        rows = PyMem_RawRealloc(pr->rows, (size_t)cap * sizeof(row_t));
        if (rows == NULL)
            return NULL;
        pr->rows = rows;
        pr->cap = cap;
    }
    return &pr->rows[pr->nrows++];
}

/* ------------------------------------------------------------------------ diagnostics
 * For a matched line that is not a successful delivery, phase 1 also reads the text after
 * "status=x" exactly as postfix.split_diagnostic does, and masks its diagnostic exactly as
 * read.mask_tokens does -- only where that text is pure ASCII, where Python's \s, \w, \d,
 * str.strip() and str.isdigit() mean the ASCII characters written out below (\s and
 * str.isspace() include \x1c-\x1f); any other text is left to Python.
 * tests/test_postfix_scan.py checks split_ascii and mask_ascii against the Python
 * functions. */
enum { CMD_NONE, CMD_RCPT, CMD_MAIL, CMD_DATA, CMD_HELO };
static const char *const cmd_names[] = {"", "RCPT", "MAIL", "DATA", "HELO"};

/* str.isspace() (and \s of a str pattern) of an ASCII character */
#define USPACE(ch) (((ch) >= '\t' && (ch) <= '\r') || ((ch) >= 0x1c && (ch) <= ' '))
/* [\w.-] of a str pattern, in ASCII */
#define MWORD(ch) (WORD(ch) || (ch) == '.' || (ch) == '-')

typedef struct {
    Py_ssize_t d0, d1, m0, m1; /* the diagnostic, the remote MTA: offsets in the text */
    Py_ssize_t reply_len;
    int cmd;
} split_t;

/* the first s[i:i+len] == lit with from <= i, i + len <= to; -1: none */
static Py_ssize_t find_lit(const unsigned char *s, Py_ssize_t from, Py_ssize_t to, const char *lit, Py_ssize_t len)
{
    Py_ssize_t i;
    for (i = from; i + len <= to; i++)
        if (s[i] == (unsigned char)lit[0] && memcmp(s + i, lit, (size_t)len) == 0)
            return i;
    return -1;
}

/* postfix._COMMANDS.get(x, "") */
static int command_of(const unsigned char *x, Py_ssize_t n)
{
#define IS(lit) (n == (Py_ssize_t)(sizeof(lit) - 1) && memcmp(x, lit, sizeof(lit) - 1) == 0)
    if (IS("RCPT TO"))
        return CMD_RCPT;
    if (IS("MAIL FROM"))
        return CMD_MAIL;
    if (IS("end of DATA") || IS("DATA"))
        return CMD_DATA;
    if (IS("HELO") || IS("EHLO"))
        return CMD_HELO;
    return CMD_NONE;
#undef IS
}

/* postfix.split_diagnostic(s[0:n]) of an ASCII text */
static void split_text(const unsigned char *s, Py_ssize_t n, split_t *o)
{
    Py_ssize_t a = 0, b = n, k, i;
    while (a < b && USPACE(s[a])) /* rest.strip() */
        a++;
    while (b > a && USPACE(s[b - 1]))
        b--;
    if (b - a >= 2 && s[a] == '(' && s[b - 1] == ')') {
        a++;
        b--;
    } else if (b - a >= 2 && s[a] == ',' && s[a + 1] == ' ')
        a += 2;
    o->d0 = a;
    o->d1 = b;
    o->m0 = o->m1 = 0;
    o->cmd = CMD_NONE;
    /* "host H[ip] said: text": who, _, diag = rest.partition(" said: ");
     * remote = who[5:].split("[", 1)[0] */
    if (b - a >= 5 && memcmp(s + a, "host ", 5) == 0 && (k = find_lit(s, a, b, " said: ", 7)) >= 0) {
        o->d0 = k + 7;
        o->m0 = a + 5 < k ? a + 5 : k;
        o->m1 = k;
        for (i = o->m0; i < k; i++)
            if (s[i] == '[') {
                o->m1 = i;
                break;
            }
    }
    /* _IN_REPLY.search(diag): "(in reply to X command)" at the end ("$": or before a
     * final newline, which a log line never holds), X without ")" (the [^)]* alternative
     * takes any such X, so group(1) is X), the leftmost such start */
    a = o->d0;
    b = o->d1;
    k = b > a && s[b - 1] == '\n' ? b - 1 : b;
    if (k - a >= 22 && memcmp(s + k - 9, " command)", 9) == 0) {
        Py_ssize_t e = k - 9, c = a - 1, p;
        for (i = e - 1; i >= a; i--)
            if (s[i] == ')') {
                c = i;
                break;
            }
        for (p = c - 12 > a ? c - 12 : a; p + 13 <= e; p++) /* X = s[p+13:e] after the last ")" */
            if (s[p] == '(' && memcmp(s + p, "(in reply to ", 13) == 0) {
                o->cmd = command_of(s + p + 13, e - p - 13);
                break;
            }
    }
    /* diag[:3] if diag[:3].isdigit() and diag[3:4] in (" ", "-", "") */
    o->reply_len = 0;
    if (b - a >= 1) {
        Py_ssize_t m = b - a < 3 ? b - a : 3;
        for (i = 0; i < m && DIG(s[a + i]); i++)
            ;
        if (i == m && (b - a == m || s[a + m] == ' ' || s[a + m] == '-'))
            o->reply_len = m;
    }
}

/* a delimiter of read._ADDR_RE: \s<>()[]"',;: (a switch: the text may hold NUL bytes) */
static int addr_delim(unsigned char ch)
{
    switch (ch) {
    case '<': case '>': case '(': case ')': case '[': case ']': case '"': case '\'': case ',': case ';': case ':':
        return 1;
    default:
        return USPACE(ch);
    }
}

#define ADDR_REPL "user@example.invalid"
#define ADDR_REPL_LEN ((Py_ssize_t)(sizeof(ADDR_REPL) - 1))

/* read._ADDR_RE.sub("user@example.invalid", s[0:n]): written to out (NULL: only
 * counted); its length, -1 if it could overflow. The regex at i: i at the start or after a
 * delimiter, then [^D@]+ (greedy, so up to the first delimiter or "@"), "@", [^D]+. */
static Py_ssize_t addr_sub(const unsigned char *s, Py_ssize_t n, unsigned char *out)
{
    Py_ssize_t i = 0, w = 0, copied = 0;
    if (n > PY_SSIZE_T_MAX / 8) /* (a match of 3 bytes or more becomes 20) */
        return -1;
    while (i < n) {
        Py_ssize_t j, k;
        if (i > 0 && !addr_delim(s[i - 1])) {
            i++;
            continue;
        }
        for (j = i; j < n && s[j] != '@' && !addr_delim(s[j]); j++)
            ;
        if (j == i || j >= n || s[j] != '@') {
            i++;
            continue;
        }
        for (k = j + 1; k < n && !addr_delim(s[k]); k++)
            ;
        if (k == j + 1) {
            i++;
            continue;
        }
        if (out != NULL) {
            memcpy(out + w, s + copied, (size_t)(i - copied));
            memcpy(out + w + (i - copied), ADDR_REPL, (size_t)ADDR_REPL_LEN);
        }
        w += i - copied + ADDR_REPL_LEN;
        copied = i = k;
    }
    if (out != NULL)
        memcpy(out + w, s + copied, (size_t)(n - copied));
    return w + (n - copied);
}

/* s fullmatches [245]\.\d{1,3}\.\d{1,3} */
static int rfc_status(const unsigned char *s, Py_ssize_t n)
{
    Py_ssize_t i = 2, k;
    if (n < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
        return 0;
    for (k = 0; i < n && DIG(s[i]); i++)
        k++;
    if (k < 1 || k > 3 || i >= n || s[i] != '.')
        return 0;
    for (k = 0, i++; i < n && DIG(s[i]); i++)
        k++;
    return k >= 1 && k <= 3 && i == n;
}

/* read._CODE_RE.fullmatch(t.strip(".-")): a reply or status code, kept by the mask */
static int is_code(const unsigned char *t, Py_ssize_t n)
{
    Py_ssize_t i;
    while (n > 0 && (t[0] == '.' || t[0] == '-')) {
        t++;
        n--;
    }
    while (n > 0 && (t[n - 1] == '.' || t[n - 1] == '-'))
        n--;
    for (i = 0; i < n && DIG(t[i]); i++)
        ;
    if (i == n && n >= 1 && n <= 4) /* \d{1,4} (and [245]\d\d) */
        return 1;
    if (rfc_status(t, n))
        return 1;
    return n > 4 && (t[0] == '2' || t[0] == '4' || t[0] == '5') && DIG(t[1]) && DIG(t[2]) && t[3] == '-' &&
           rfc_status(t + 4, n - 4);
}

/* read._MASK_RE.sub("0", t[0:n]) in place (the text only shrinks); the new length. The
 * regex matches a whole maximal run of [\w.-] (its lookbehind: the run's start; its
 * greedy body: to the run's end) of 5 or more characters with a has_digit in it that is
 * not [.-]*CODE[.-]* (its negative lookahead, which must end where the run does). */
static Py_ssize_t mask_runs(unsigned char *t, Py_ssize_t n)
{
    Py_ssize_t i = 0, w = 0;
    while (i < n) {
        Py_ssize_t e;
        int has_digit = 0;
        if (!MWORD(t[i])) {
            t[w++] = t[i++];
            continue;
        }
        for (e = i; e < n && MWORD(t[e]); e++)
            has_digit |= DIG(t[e]);
        if (e - i >= 5 && has_digit && !is_code(t + i, e - i))
            t[w++] = '0';
        else {
            memmove(t + w, t + i, (size_t)(e - i));
            w += e - i;
        }
        i = e;
    }
    return w;
}

/* read.mask_tokens(s[0:n]) of an ASCII text, into *out (PyMem_Raw, NULL if it is the
 * text itself) and *out_len; -1: no memory (nothing allocated) */
static int mask_text(const unsigned char *s, Py_ssize_t n, unsigned char **out, Py_ssize_t *out_len)
{
    Py_ssize_t len = n;
    unsigned char *t;
    int at = n > 0 && memchr(s, '@', (size_t)n) != NULL;
    *out = NULL;
    *out_len = n;
    if (at && (len = addr_sub(s, n, NULL)) < 0)
        return -1;
    if ((t = PyMem_RawMalloc((size_t)(len > 0 ? len : 1))) == NULL)
        return -1;
    if (at)
        addr_sub(s, n, t);
    else if (n > 0)
        memcpy(t, s, (size_t)n);
    len = mask_runs(t, len);
    if (len == n && (n == 0 || memcmp(t, s, (size_t)n) == 0)) {
        PyMem_RawFree(t); /* unchanged */
        return 0;
    }
    *out = t;
    *out_len = len;
    return 0;
}

/* the text after "status=x" of a matched line (see row_t): r->split if read */
static void read_text(row_t *r, const unsigned char *p)
{
    const unsigned char *s = p + r->f.r0;
    Py_ssize_t n = r->f.r1 - r->f.r0, i;
    split_t sp;
    for (i = 0; i < n; i++)
        if (s[i] >= 0x80)
            return; /* not ASCII: Python reads it */
    split_text(s, n, &sp);
    if (mask_text(s + sp.d0, sp.d1 - sp.d0, &r->masked, &r->masked_len) < 0)
        return; /* no memory: Python reads it */
    r->d0 = r->f.r0 + sp.d0;
    r->d1 = r->f.r0 + sp.d1;
    r->m0 = r->f.r0 + sp.m0;
    r->m1 = r->f.r0 + sp.m1;
    r->reply_len = (unsigned char)sp.reply_len;
    r->cmd = (unsigned char)sp.cmd;
    r->split = 1;
}

/* phase 1 of base[0:len], a run of complete lines (its start a line start). No Python API. */
static void phase1(pre_t *pr)
{
    const unsigned char *buf = pr->base;
    Py_ssize_t len = pr->len, ls = 0, at = 0, newlines = 0;
    /* every ": to=<" (its "<", the five bytes before compared), its line found around
     * it; the newlines in between are counted, not searched line by line */
    for (;;) {
        const unsigned char *lt = at < len ? memchr(buf + at, '<', (size_t)(len - at)) : NULL;
        const unsigned char *nl, *p;
        Py_ssize_t k, le;
        row_t *r;
        if (lt == NULL)
            break;
        k = lt - buf;
        if (k - 5 < ls || memcmp(lt - 5, ": to=", 5) != 0) { /* not one (it cannot span lines) */
            if (!pr->expiry && k >= 7 && memcmp(lt - 7, ": from=", 7) == 0) {
                /* qmgr's "QID: from=<s>, status=expired, returned to sender" (postfix._EXPIRED)?
                 * Such a line counts only if the Postfix head runs up to it, so it is never
                 * after a ": to=<" (whose lines' ends are not searched) */
                Py_ssize_t j = k + 1;
                while (j < len && buf[j] != '>' && buf[j] != '\n')
                    j++;
                if (j < len && buf[j] == '>' && len - j > 16 && memcmp(buf + j, ">, status=expired", 17) == 0)
                    pr->expiry = 1;
            }
            at = k + 1;
            continue;
        }
        k = line_start(buf, ls, k - 5);
        newlines += count_newlines(buf + ls, k - ls);
        ls = k;
        nl = memchr(lt, '\n', (size_t)(len - (lt - buf)));
        le = nl ? nl - buf : len;
        if ((r = new_row(pr)) == NULL) {
            pr->nomem = 1;
            return;
        }
        p = buf + ls;
        r->ls = ls;
        r->n = le - ls;
        r->line = newlines;
        r->matched = (unsigned char)match_line(p, r->n, &r->f);
        r->sent = r->matched && r->f.w1 - r->f.w0 == 4 && memcmp(p + r->f.w0, "sent", 4) == 0;
        r->lower = 0;
        r->split = 0;
        r->masked = NULL;
        if (r->matched) {
            event_id_hex(r, p);
            if (!r->sent)
                read_text(r, p);
        }
        if (nl == NULL) { /* the piece's last line, unterminated */
            ls = at = len;
            break;
        }
        newlines++;
        ls = at = le + 1;
    }
    pr->newlines = newlines + count_newlines(buf + ls, len - ls);
}

/* ------------------------------------------------------------------------ phase 2 */
/* postfix._decode: UTF-8, else Latin-1 */
static PyObject *decode_text(const unsigned char *s, Py_ssize_t len)
{
    PyObject *o = PyUnicode_DecodeUTF8((const char *)s, len, NULL);
    if (o == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        PyErr_Clear();
        o = PyUnicode_DecodeLatin1((const char *)s, len, NULL);
    }
    return o;
}

/* the recipient's str (postfix._norm_bytes, then postfix._decode) */
static PyObject *recipient_str(const row_t *r, const unsigned char *p)
{
    const unsigned char *rb;
    Py_ssize_t len, d, i;
    unsigned char *low;
    PyObject *out;
    recipient_bytes(p, &r->f, &rb, &len);
    if (!r->lower || len <= 0) /* (lower: a domain letter, so len >= 1) */
        return decode_text(rb, len);
    d = domain_start(rb, len);
    low = PyMem_Malloc((size_t)len);
    if (low == NULL)
        return PyErr_NoMemory();
    memcpy(low, rb, (size_t)len);
    for (i = d; i < len; i++)
        if (UPPER(low[i]))
            low[i] = (unsigned char)(low[i] + 32);
    out = decode_text(low, len);
    PyMem_Free(low);
    return out;
}

/* the event id and the recipient of a matched line, at row i */
static int id_and_recipient(PyObject **cols, Py_ssize_t i, const row_t *r, const unsigned char *p)
{
    if (put_steal(cols, C_EID, i, hex_str(r->eid)) < 0)
        return -1;
    return put_steal(cols, C_RCPT, i, recipient_str(r, p));
}

static int sent_row(PyObject **cols, Py_ssize_t i, caches *c, const row_t *r, const unsigned char *p, Py_ssize_t position,
                    PyObject *classify)
{
    const fields *f = &r->f;
    const unsigned char *rest = p + f->r0, *reply = NULL;
    Py_ssize_t rest_len = f->r1 - f->r0;
    key_entry *key;
    PyObject *v;

    if (put_steal(cols, C_POS, i, PyLong_FromSsize_t(position)) < 0)
        return -1;
    if (id_and_recipient(cols, i, r, p) < 0)
        return -1;
    if (put_steal(cols, C_TS, i, PyBytes_FromStringAndSize((const char *)p + f->ts0, f->ts1 - f->ts0)) < 0)
        return -1;
    /* "sent (250 2.0.0 Ok)": rest[2:5] is the reply code if it is three digits */
    if (rest_len >= 5 && DIG(rest[2]) && DIG(rest[3]) && DIG(rest[4]))
        reply = rest + 2;
    key = cached_key(c, p + f->d0, f->d1 - f->d0, reply, classify);
    if (key == NULL)
        return -1;
    if (put(cols, C_KIND, i, key->kind) < 0 || put(cols, C_REASON, i, key->reason) < 0 ||
        put(cols, C_STATUS, i, key->dsn_str) < 0 || put(cols, C_REPLY, i, key->reply_str) < 0)
        return -1;
    /* rest[2:-1], the text in the parentheses; empty: None */
    if (rest_len > 3)
        v = decode_text(rest + 2, rest_len - 3);
    else {
        Py_INCREF(Py_None);
        v = Py_None;
    }
    if (put_steal(cols, C_DIAG, i, v) < 0)
        return -1;
    if (put_steal(cols, C_REMOTE, i, cached_relay(c, p + f->re0, f->re1 - f->re0)) < 0)
        return -1;
    return put_steal(cols, C_QUEUE, i, ascii_str(p + f->q0, f->q1 - f->q0));
}

/* a row Python fills in: its position, and for a matched line its event id and
 * recipient (else None) */
static int placeholder_row(PyObject **cols, Py_ssize_t i, Py_ssize_t position, const row_t *r, const unsigned char *p)
{
    int k;
    if (put_steal(cols, C_POS, i, PyLong_FromSsize_t(position)) < 0)
        return -1;
    if (r->matched) {
        if (id_and_recipient(cols, i, r, p) < 0)
            return -1;
    } else if (put(cols, C_EID, i, Py_None) < 0 || put(cols, C_RCPT, i, Py_None) < 0)
        return -1;
    for (k = 1; k < NCOLS; k++)
        if (k != C_EID && k != C_RCPT && put(cols, k, i, Py_None) < 0)
            return -1;
    return 0;
}

/* the 8 groups of postfix._LINE.match(line).groups() (orig_to None when absent) */
static PyObject *groups_of(const char *s, const fields *f)
{
    if (f->has_orig)
        return Py_BuildValue("(y#y#y#y#y#y#y#y#)", s + f->ts0, f->ts1 - f->ts0, s + f->q0, f->q1 - f->q0,
                             s + f->to0, f->to1 - f->to0, s + f->or0, f->or1 - f->or0, s + f->re0,
                             f->re1 - f->re0, s + f->d0, f->d1 - f->d0, s + f->w0, f->w1 - f->w0, s + f->r0,
                             f->r1 - f->r0);
    return Py_BuildValue("(y#y#y#Oy#y#y#y#)", s + f->ts0, f->ts1 - f->ts0, s + f->q0, f->q1 - f->q0, s + f->to0,
                         f->to1 - f->to0, Py_None, s + f->re0, f->re1 - f->re0, s + f->d0, f->d1 - f->d0,
                         s + f->w0, f->w1 - f->w0, s + f->r0, f->r1 - f->r0);
}

/* (diagnostic, reply code, remote MTA, SMTP command, masked diagnostic) of a line phase 1
 * read the text of (split_diagnostic's four values and mask_tokens(diagnostic)), else None */
static PyObject *text_of(const row_t *r, const unsigned char *p)
{
    PyObject *t, *v;
    if (!r->split)
        Py_RETURN_NONE;
    if ((t = PyTuple_New(5)) == NULL)
        return NULL;
    if ((v = PyUnicode_DecodeASCII((const char *)p + r->d0, r->d1 - r->d0, NULL)) == NULL)
        goto fail;
    PyTuple_SET_ITEM(t, 0, v);
    if (r->masked == NULL) {
        Py_INCREF(v);
        PyTuple_SET_ITEM(t, 4, v);
    } else if ((v = PyUnicode_DecodeASCII((const char *)r->masked, r->masked_len, NULL)) == NULL)
        goto fail;
    else
        PyTuple_SET_ITEM(t, 4, v);
    if ((v = PyUnicode_DecodeASCII((const char *)p + r->d0, r->reply_len, NULL)) == NULL)
        goto fail;
    PyTuple_SET_ITEM(t, 1, v);
    if ((v = PyUnicode_DecodeASCII((const char *)p + r->m0, r->m1 - r->m0, NULL)) == NULL)
        goto fail;
    PyTuple_SET_ITEM(t, 2, v);
    if ((v = PyUnicode_FromString(cmd_names[r->cmd])) == NULL)
        goto fail;
    PyTuple_SET_ITEM(t, 3, v);
    return t;
fail:
    Py_DECREF(t); /* (its empty slots are NULL) */
    return NULL;
}

/* phase 2: scan()'s return value from phase 1's rows */
static PyObject *finish_rows(const pre_t *pr, Py_ssize_t first_line, PyObject *classify)
{
    PyObject *cols[NCOLS] = {NULL}, *special = NULL, *result = NULL;
    caches *c = NULL;
    Py_ssize_t i;
    int col;
    if (pr->nomem)
        return PyErr_NoMemory();
    if (first_line > PY_SSIZE_T_MAX - pr->newlines) { /* (a row's position must not overflow) */
        PyErr_SetString(PyExc_OverflowError, "first_line is too large");
        return NULL;
    }
    c = PyMem_Calloc(1, sizeof(caches));
    if (c == NULL)
        return PyErr_NoMemory();
    for (col = 0; col < NCOLS; col++) /* (a list's empty slots are NULL: freeing it is safe) */
        if ((cols[col] = PyList_New(pr->nrows)) == NULL)
            goto done;
    if ((special = PyList_New(0)) == NULL)
        goto done;
    for (i = 0; i < pr->nrows; i++) {
        const row_t *r = &pr->rows[i];
        const unsigned char *p = pr->base + r->ls;
        Py_ssize_t position = first_line + r->line;
        if (r->sent) {
            if (sent_row(cols, i, c, r, p, position, classify) < 0)
                goto done;
        } else {
            PyObject *item, *groups, *text;
            if (placeholder_row(cols, i, position, r, p) < 0)
                goto done;
            if (r->matched)
                groups = groups_of((const char *)p, &r->f);
            else {
                Py_INCREF(Py_None);
                groups = Py_None;
            }
            if (groups == NULL)
                goto done;
            if ((text = text_of(r, p)) == NULL) {
                Py_DECREF(groups);
                goto done;
            }
            item = Py_BuildValue("(ny#NN)", i, (const char *)p, r->n, groups, text);
            if (append_steal(special, item) < 0)
                goto done;
        }
    }
    {
        PyObject *tuple = PyTuple_New(NCOLS);
        if (tuple == NULL)
            goto done;
        for (col = 0; col < NCOLS; col++) {
            PyTuple_SET_ITEM(tuple, col, cols[col]);
            cols[col] = NULL;
        }
        result = Py_BuildValue("(nNOO)", pr->newlines, tuple, special, pr->expiry ? Py_True : Py_False);
    }
done:
    for (col = 0; col < NCOLS; col++)
        Py_XDECREF(cols[col]);
    Py_XDECREF(special);
    clear_keys(c);
    clear_relays(c);
    PyMem_Free(c);
    return result;
}

/* ------------------------------------------------------------------------ handles
 * Prescan: phase 1 of one piece of a block, done in the caller's thread (prescan) or
 * owed by a background thread (prescan_background). It holds a reference to the block
 * (bytes: immutable, so a thread reads a buffer that neither moves nor changes while the
 * handle lives).
 *
 * A background piece lives in a `shared_t` that the handle and the thread both point to,
 * freed by the last of the two to let go of it (refs, under mu). Whoever needs the rows
 * first does the work: if the thread has not started the piece when the caller needs it
 * (a busy machine may not have run the thread yet), the caller takes it and runs phase 1
 * itself, and the thread then skips it -- so a piece is never waited for unless it is
 * being worked on. A handle dropped before that cancels the piece the same way, or
 * waits for the thread to let go of the block. */
enum { PIECE_WAITING, PIECE_RUNNING, PIECE_DONE, PIECE_TAKEN };

typedef struct shared_s {
    PyThread_type_lock mu;   /* guards state, refs and done_held; NULL: no thread (done) */
    PyThread_type_lock done; /* held until the thread has finished the piece */
    int state, refs, done_held;
    unsigned long gen; /* fork_gen when it was made (see after_fork_in_child) */
    pre_t pre;
    struct shared_s *next; /* in the worker's queue */
} shared_t;

/* after_fork_in_child() counts the forks this process descends from: a piece made before
 * the last one was queued for, and maybe being read by, a worker thread that the child
 * does not have -- its locks may be held for good (see stale()). */
static unsigned long fork_gen;

/* a background piece from before a fork, in the child: only the child's Python threads,
 * under the GIL, can touch it now (the worker that could is gone, and the child's new
 * worker never sees it), so its state is read without its locks, which the gone thread
 * may have left held */
static int stale(const shared_t *sh)
{
    return sh->mu != NULL && sh->gen != fork_gen;
}

typedef struct {
    PyObject_HEAD
    PyObject *block;
    shared_t *sh;
    int ready;    /* the rows are there (phase 1 finished, by whichever thread) */
    int finished; /* finish() took the rows */
    int busy;     /* a thread is in finish() or .newlines with the GIL released: another
                   * one that shares the handle must not free or read the rows meanwhile */
    int found;    /* the piece's state when the caller needed it (for .ran_in) */
} Prescan;

static PyTypeObject PrescanType;

static void free_rows(pre_t *pr)
{
    Py_ssize_t i;
    for (i = 0; i < pr->nrows; i++)
        PyMem_RawFree(pr->rows[i].masked);
    PyMem_RawFree(pr->rows);
    pr->rows = NULL;
    pr->nrows = pr->cap = 0;
}

/* one holder lets go of a shared piece (any thread: no Python API) */
static void shared_release(shared_t *sh)
{
    int last;
    if (sh->mu == NULL || stale(sh)) { /* (stale: the gone thread's hold is never let go
                                        * of; its locks, maybe held, are left, not freed) */
        free_rows(&sh->pre);
        PyMem_RawFree(sh);
        return;
    }
    PyThread_acquire_lock(sh->mu, WAIT_LOCK);
    last = --sh->refs == 0;
    PyThread_release_lock(sh->mu);
    if (!last)
        return;
    if (sh->done_held)
        PyThread_release_lock(sh->done);
    PyThread_free_lock(sh->done);
    PyThread_free_lock(sh->mu);
    free_rows(&sh->pre);
    PyMem_RawFree(sh);
}

static void run_piece(void *arg)
{
    shared_t *sh = arg;
    int mine;
    PyThread_acquire_lock(sh->mu, WAIT_LOCK);
    mine = sh->state == PIECE_WAITING;
    if (mine)
        sh->state = PIECE_RUNNING;
    PyThread_release_lock(sh->mu);
    if (mine) {
        phase1(&sh->pre);
        PyThread_acquire_lock(sh->mu, WAIT_LOCK);
        sh->state = PIECE_DONE;
        sh->done_held = 0;
        PyThread_release_lock(sh->done);
        PyThread_release_lock(sh->mu);
    }
    shared_release(sh);
}

/* The worker: one thread for the process, started on first use, that runs the queued
 * pieces in order and sleeps when there are none (a thread per piece would cost its
 * start-up, ~25 us, on every block). It holds no Python object and never takes the GIL. */
static struct {
    PyThread_type_lock mu;   /* guards the queue and `waiting` */
    PyThread_type_lock wake; /* held but while the idle worker is being woken */
    shared_t *head, *tail;
    int waiting; /* the worker sleeps on `wake` */
    int started; /* 0: not yet, 1: running, -1: could not start (the caller runs the pieces) */
} worker;

static void worker_main(void *arg)
{
    (void)arg;
    for (;;) {
        shared_t *sh;
        PyThread_acquire_lock(worker.mu, WAIT_LOCK);
        sh = worker.head;
        if (sh == NULL) {
            worker.waiting = 1;
            PyThread_release_lock(worker.mu);
            PyThread_acquire_lock(worker.wake, WAIT_LOCK);
            continue;
        }
        worker.head = sh->next;
        if (worker.head == NULL)
            worker.tail = NULL;
        PyThread_release_lock(worker.mu);
        run_piece(sh);
    }
}

/* queues a piece for the worker (GIL held); 0: there is no worker */
static int enqueue(shared_t *sh)
{
    if (worker.started == 0) {
        worker.mu = PyThread_allocate_lock();
        worker.wake = PyThread_allocate_lock();
        worker.started = -1;
        if (worker.mu == NULL || worker.wake == NULL)
            return 0;
        PyThread_acquire_lock(worker.wake, WAIT_LOCK);
        if (PyThread_start_new_thread(worker_main, NULL) == PYTHREAD_INVALID_THREAD_ID)
            return 0;
        worker.started = 1;
    }
    if (worker.started != 1)
        return 0;
    sh->next = NULL;
    PyThread_acquire_lock(worker.mu, WAIT_LOCK);
    if (worker.tail != NULL)
        worker.tail->next = sh;
    else
        worker.head = sh;
    worker.tail = sh;
    if (worker.waiting) {
        worker.waiting = 0;
        PyThread_release_lock(worker.wake);
    }
    PyThread_release_lock(worker.mu);
    return 1;
}

PyDoc_STRVAR(after_fork_doc,
"after_fork_in_child() -> None: the worker thread did not survive a fork; the next\n"
"prescan_background() starts a new one (postfix.py registers it with os.register_at_fork).\n"
"Pieces made before the fork, queued or half read by the parent's worker, are read by\n"
"finish() itself (and a handle dropped never waits for the worker that is gone).");

static PyObject *after_fork_in_child(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    /* the old locks may be held by the thread that is gone: left, not freed. The pieces
     * made before the fork are stale() from now on: a caller of the child reads them itself
     * (claim), also one the parent's worker was in the middle of. */
    memset(&worker, 0, sizeof(worker));
    fork_gen++;
    Py_RETURN_NONE;
}

/* the thread's claim on the piece ends: the caller takes the piece if the thread has not
 * started it, else waits for the thread (the GIL released). Returns the state found. */
static int claim(Prescan *h)
{
    shared_t *sh = h->sh;
    int state;
    if (sh->mu == NULL) /* no thread: the caller's */
        return PIECE_WAITING;
    if (stale(sh)) {
        if (sh->state == PIECE_DONE)
            return PIECE_DONE;
        if (sh->state != PIECE_WAITING) {
            /* half made by a thread that is gone (maybe inside a realloc: the pointer may
             * be stale too): the rows are forgotten, not freed, and made again */
            sh->pre.rows = NULL;
            sh->pre.nrows = sh->pre.cap = 0;
            sh->pre.newlines = 0;
            sh->pre.expiry = sh->pre.nomem = 0;
        }
        sh->state = PIECE_TAKEN;
        return PIECE_WAITING;
    }
    PyThread_acquire_lock(sh->mu, WAIT_LOCK);
    state = sh->state;
    if (state == PIECE_WAITING)
        sh->state = PIECE_TAKEN;
    PyThread_release_lock(sh->mu);
    if (state == PIECE_RUNNING && !PyThread_acquire_lock(sh->done, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(sh->done, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
    if (state == PIECE_RUNNING)
        PyThread_release_lock(sh->done); /* it stays free: done_held is 0 */
    return state;
}

/* phase 1's rows, whichever thread makes them; -1 (RuntimeError): another Python thread
 * sharing the handle is making or waiting for them (the GIL released: its rows must not
 * be read, run twice or freed meanwhile) */
static int make_ready(Prescan *h)
{
    if (h->ready)
        return 0;
    if (h->busy) {
        PyErr_SetString(PyExc_RuntimeError, "this Prescan is being read by another thread");
        return -1;
    }
    h->busy = 1;
    if ((h->found = claim(h)) == PIECE_WAITING) {
        Py_BEGIN_ALLOW_THREADS
        phase1(&h->sh->pre);
        Py_END_ALLOW_THREADS
    }
    h->ready = 1;
    h->busy = 0;
    return 0;
}

static void prescan_dealloc(Prescan *h)
{
    if (h->sh != NULL) {
        if (!h->ready)
            claim(h); /* cancel the piece, or wait until the thread is done reading the block */
        shared_release(h->sh);
    }
    Py_XDECREF(h->block);
    Py_TYPE(h)->tp_free((PyObject *)h);
}

static PyObject *prescan_newlines(Prescan *h, void *closure)
{
    (void)closure;
    if (h->finished) {
        PyErr_SetString(PyExc_RuntimeError, "this Prescan was finished already");
        return NULL;
    }
    if (make_ready(h) < 0)
        return NULL;
    if (h->sh->pre.nomem) /* (its newlines were not all counted) */
        return PyErr_NoMemory();
    return PyLong_FromSsize_t(h->sh->pre.newlines);
}

static PyObject *prescan_ran_in(Prescan *h, void *closure)
{
    (void)closure;
    if (!h->ready)
        Py_RETURN_NONE;
    if (h->found == PIECE_WAITING)
        return PyUnicode_FromString("caller");
    return PyUnicode_FromString(h->found == PIECE_RUNNING ? "worker, waited for" : "worker");
}

static PyGetSetDef prescan_getset[] = {
    {"newlines", (getter)prescan_newlines, NULL, "newlines in the piece (runs or waits for phase 1)", NULL},
    {"ran_in", (getter)prescan_ran_in, NULL,
     "where phase 1 ran: 'caller', 'worker' (done when needed), 'worker, waited for'; None: not yet known", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject PrescanType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "listcare.bounces._postfix_scan.Prescan",
    .tp_basicsize = sizeof(Prescan),
    .tp_dealloc = (destructor)prescan_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Phase 1 of the scan of one piece of a block (prescan, prescan_background); finish() reads it.",
    .tp_getset = prescan_getset,
};

/* a new handle for block[start:end], phase 1 not run; NULL with an exception */
static Prescan *new_handle(PyObject *args, const char *format, int background)
{
    PyObject *block;
    Py_ssize_t start = 0, end = PY_SSIZE_T_MAX, len;
    const unsigned char *buf;
    shared_t *sh;
    Prescan *h;
    if (!PyArg_ParseTuple(args, format, &block, &start, &end))
        return NULL;
    len = PyBytes_GET_SIZE(block);
    buf = (const unsigned char *)PyBytes_AS_STRING(block);
    if (end == PY_SSIZE_T_MAX)
        end = len;
    if (start < 0 || end > len || start > end) {
        PyErr_SetString(PyExc_ValueError, "the piece is not within the block");
        return NULL;
    }
    if (start > 0 && start < len && buf[start - 1] != '\n') { /* (an empty piece at the end is one) */
        PyErr_SetString(PyExc_ValueError, "a piece must start at a line start");
        return NULL;
    }
    sh = PyMem_RawCalloc(1, sizeof(shared_t));
    if (sh == NULL)
        return (Prescan *)PyErr_NoMemory();
    sh->pre.base = buf + start;
    sh->pre.len = end - start;
    if (background) {
        sh->mu = PyThread_allocate_lock();
        sh->done = PyThread_allocate_lock();
        if (sh->mu == NULL || sh->done == NULL) {
            if (sh->mu != NULL)
                PyThread_free_lock(sh->mu);
            if (sh->done != NULL)
                PyThread_free_lock(sh->done);
            PyMem_RawFree(sh);
            return (Prescan *)PyErr_NoMemory();
        }
        PyThread_acquire_lock(sh->done, WAIT_LOCK); /* a new lock: free, so at once */
        sh->done_held = 1;
        sh->refs = 1; /* the handle's; the thread's is added when it starts */
        sh->gen = fork_gen;
    }
    h = PyObject_New(Prescan, &PrescanType);
    if (h == NULL) {
        shared_release(sh);
        return NULL;
    }
    Py_INCREF(block);
    h->block = block;
    h->sh = sh;
    h->ready = h->finished = h->busy = 0;
    h->found = PIECE_WAITING;
    return h;
}

PyDoc_STRVAR(prescan_doc,
"prescan(block, start=0, end=len(block)) -> Prescan\n\n"
"Phase 1 of scan() for block[start:end] (start: 0 or just after a newline), without the\n"
"GIL: the ': to=<' lines found and matched, their event ids hashed, the newlines counted.\n"
"finish(handle, classify_sent, first_line) makes scan()'s return value of it.");

static PyObject *prescan(PyObject *self, PyObject *args)
{
    Prescan *h;
    (void)self;
    if ((h = new_handle(args, "S|nn:prescan", 0)) == NULL)
        return NULL;
    make_ready(h); /* (a new handle: no other thread has it) */
    return (PyObject *)h;
}

PyDoc_STRVAR(prescan_background_doc,
"prescan_background(block, start=0, end=len(block)) -> Prescan\n\n"
"prescan() in the background (one worker thread, which holds no Python object, runs\n"
"the pieces in order): it returns at once. Whoever\n"
"needs the rows first (finish(), .newlines, or the thread) runs phase 1; a handle\n"
"dropped unfinished cancels it (or waits until the thread lets go of the block).");

static PyObject *prescan_background(PyObject *self, PyObject *args)
{
    Prescan *h;
    shared_t *sh;
    (void)self;
    if ((h = new_handle(args, "S|nn:prescan_background", 1)) == NULL)
        return NULL;
    sh = h->sh;
    sh->refs = 2; /* the worker's, set before it can see the piece */
    if (!enqueue(sh))
        sh->refs = 1; /* no worker: the piece stays waiting and finish() runs it */
    return (PyObject *)h;
}

PyDoc_STRVAR(finish_doc,
"finish(handle, classify_sent, first_line) -> (newlines, columns, special, expiry)\n\n"
"Phase 2: scan()'s return value for the handle's piece, whose first line is first_line.\n"
"Runs phase 1 first if a background thread has not started it, or waits for the thread\n"
"if it has. A handle is finished once\n"
"(again: RuntimeError); its rows are freed then, whatever the outcome.");

static PyObject *finish(PyObject *self, PyObject *args)
{
    Prescan *h;
    PyObject *classify, *result;
    Py_ssize_t first_line;
    (void)self;
    if (!PyArg_ParseTuple(args, "O!On:finish", &PrescanType, &h, &classify, &first_line))
        return NULL;
    if (!PyCallable_Check(classify)) {
        PyErr_SetString(PyExc_TypeError, "classify_sent must be callable");
        return NULL;
    }
    if (h->finished) {
        PyErr_SetString(PyExc_RuntimeError, "this Prescan was finished already");
        return NULL;
    }
    if (make_ready(h) < 0)
        return NULL;
    /* (set before classify_sent, Python code, can let another thread in to finish it) */
    h->finished = 1;
    result = finish_rows(&h->sh->pre, first_line, classify);
    free_rows(&h->sh->pre);
    return result;
}

PyDoc_STRVAR(scan_doc,
"scan(block, first_line, classify_sent) -> (newlines, columns, special, expiry)\n\n"
"The rows of one block of complete Postfix log lines: one per line holding ': to=<'.\n"
"columns: lists (position, event_id, timestamp bytes, recipient, kind, reason, status,\n"
"reply_code, diagnostic, remote_mta, queue_id); rows of successful deliveries are filled,\n"
"the others hold only their position (and, if the line matched, its event id and\n"
"recipient) and are listed in special as (row, line, match groups or None, text): the\n"
"caller reads them; text: split_ascii's value and mask_ascii(its diagnostic) for a matched\n"
"line whose text after status= is ASCII, else None. classify_sent(status, reply_or_None) -> (reason, kind).\n"
"expiry: the block may hold a qmgr 'status=expired' line (postfix._EXPIRED).\n"
"scan(b, n, c) is finish(prescan(b), c, n).");

static PyObject *scan(PyObject *self, PyObject *args)
{
    PyObject *block, *classify, *result;
    Py_ssize_t first_line;
    pre_t pr;
    (void)self;
    if (!PyArg_ParseTuple(args, "SnO:scan", &block, &first_line, &classify))
        return NULL;
    if (!PyCallable_Check(classify)) {
        PyErr_SetString(PyExc_TypeError, "classify_sent must be callable");
        return NULL;
    }
    memset(&pr, 0, sizeof(pr));
    pr.base = (const unsigned char *)PyBytes_AS_STRING(block);
    pr.len = PyBytes_GET_SIZE(block);
    Py_BEGIN_ALLOW_THREADS /* block: a reference held by our caller for the call */
    phase1(&pr);
    Py_END_ALLOW_THREADS
    result = finish_rows(&pr, first_line, classify);
    free_rows(&pr);
    return result;
}

PyDoc_STRVAR(classic_ns_doc,
"classic_ns(stamps, epoch_day) -> list of UTC nanoseconds, or None\n\n"
"listcare.bounces.read.Clock._classic for a clock in UTC, compiled: 'Mmm dd hh:mm:ss'\n"
"stamps (bytes, all 15 long), epoch_day(month-day code) -> days since 1970 or None.\n"
"None wherever _classic gives up (the caller then asks the Clock itself).");

static PyObject *classic_ns(PyObject *self, PyObject *args)
{
    static const int digit_at[7] = {5, 7, 8, 10, 11, 13, 14};
    PyObject *stamps, *epoch_day, *out;
    Py_ssize_t i, n;
    long long last_code = -1, day0 = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "O!O:classic_ns", &PyList_Type, &stamps, &epoch_day))
        return NULL;
    n = PyList_GET_SIZE(stamps);
    out = PyList_New(n);
    if (out == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        PyObject *s, *v;
        const unsigned char *a;
        long long code, secs, day;
        int k;
        if (i >= PyList_GET_SIZE(stamps)) /* epoch_day (Python code) shortened the list */
            goto give_up;
        s = PyList_GET_ITEM(stamps, i);
        if (!PyBytes_CheckExact(s) || PyBytes_GET_SIZE(s) != 15)
            goto give_up;
        a = (const unsigned char *)PyBytes_AS_STRING(s);
        if (a[3] != ' ' || a[6] != ' ' || a[9] != ':' || a[12] != ':')
            goto give_up;
        for (k = 0; k < 7; k++)
            if (!DIG(a[digit_at[k]]))
                goto give_up;
        if (a[4] == ' ')
            day = 0;
        else if (a[4] >= '0' && a[4] <= '3')
            day = (a[4] - '0') * 10;
        else
            goto give_up;
        day += a[5] - '0';
        secs = ((a[7] - '0') * 10 + (a[8] - '0')) * 3600 + ((a[10] - '0') * 10 + (a[11] - '0')) * 60 +
               (a[13] - '0') * 10 + (a[14] - '0');
        if (secs >= 86400)
            goto give_up;
        code = (((long long)a[0] << 16) | ((long long)a[1] << 8) | (long long)a[2]) * 32 + day;
        if (code != last_code) {
            PyObject *key = PyLong_FromLongLong(code), *r;
            if (key == NULL)
                goto error;
            r = PyObject_CallFunctionObjArgs(epoch_day, key, NULL);
            Py_DECREF(key);
            if (r == NULL)
                goto error;
            if (r == Py_None) {
                Py_DECREF(r);
                goto give_up;
            }
            day0 = PyLong_AsLongLong(r);
            Py_DECREF(r);
            if (day0 == -1 && PyErr_Occurred())
                goto error;
            if (day0 < -100000 || day0 > 100000) /* near the ends of int64 nanoseconds */
                goto give_up;
            last_code = code;
        }
        v = PyLong_FromLongLong((day0 * 86400 + secs) * 1000000000LL);
        if (v == NULL)
            goto error;
        PyList_SET_ITEM(out, i, v);
    }
    return out;
give_up:
    Py_DECREF(out);
    Py_RETURN_NONE;
error:
    Py_DECREF(out);
    return NULL;
}

PyDoc_STRVAR(match_doc,
"match(line) -> None or the 8 groups of postfix._LINE.match(line) (bytes; orig_to None\n"
"when absent). For tests: the scanner's reading of one line (no newline in it).");

static PyObject *match(PyObject *self, PyObject *args)
{
    const char *s;
    Py_ssize_t n;
    fields f;
    (void)self;
    if (!PyArg_ParseTuple(args, "y#:match", &s, &n))
        return NULL;
    if (memchr(s, '\n', (size_t)n) != NULL) {
        PyErr_SetString(PyExc_ValueError, "match() takes one line without a newline");
        return NULL;
    }
    if (!match_line((const unsigned char *)s, n, &f))
        Py_RETURN_NONE;
    return groups_of(s, &f);
}

PyDoc_STRVAR(blake2b_hex_doc,
"blake2b_hex(data) -> hashlib.blake2b(data, digest_size=12).hexdigest(), for tests.");

static PyObject *blake2b_hex(PyObject *self, PyObject *args)
{
    Py_buffer data;
    b2b_ctx h;
    char hex[2 * DIGEST_BYTES];
    PyObject *out;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*:blake2b_hex", &data))
        return NULL;
    b2b_init(&h);
    b2b_update(&h, data.buf, (size_t)data.len);
    b2b_final_hex(&h, hex);
    out = hex_str(hex);
    PyBuffer_Release(&data);
    return out;
}

/* The argument of split_ascii and mask_ascii: 1 for an ASCII str, 0 for another str
   (the caller returns None: the Python code handles it), -1 with an error set. */
static int ascii_str_arg(PyObject *arg, const char *fn)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "%s() takes a str", fn);
        return -1;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(arg) < 0)
        return -1;
#endif
    return PyUnicode_IS_ASCII(arg) ? 1 : 0;
}

PyDoc_STRVAR(split_ascii_doc,
"split_ascii(rest) -> (diagnostic, reply_code, remote_mta, command), or None\n\n"
"postfix.split_diagnostic(rest), compiled, for an ASCII str (None for any other).");

static PyObject *split_ascii(PyObject *self, PyObject *arg)
{
    split_t sp;
    const unsigned char *s;
    Py_ssize_t n;
    PyObject *diag, *reply, *remote, *out = NULL;
    int ascii;
    (void)self;
    if ((ascii = ascii_str_arg(arg, "split_ascii")) <= 0) {
        if (ascii < 0)
            return NULL;
        Py_RETURN_NONE;
    }
    s = PyUnicode_1BYTE_DATA(arg);
    n = PyUnicode_GET_LENGTH(arg);
    split_text(s, n, &sp);
    diag = PyUnicode_DecodeASCII((const char *)s + sp.d0, sp.d1 - sp.d0, NULL);
    reply = PyUnicode_DecodeASCII((const char *)s + sp.d0, sp.reply_len, NULL);
    remote = PyUnicode_DecodeASCII((const char *)s + sp.m0, sp.m1 - sp.m0, NULL);
    if (diag != NULL && reply != NULL && remote != NULL)
        out = Py_BuildValue("(OOOs)", diag, reply, remote, cmd_names[sp.cmd]);
    Py_XDECREF(diag);
    Py_XDECREF(reply);
    Py_XDECREF(remote);
    return out;
}

PyDoc_STRVAR(mask_ascii_doc,
"mask_ascii(text) -> str, or None\n\n"
"listcare.bounces.read.mask_tokens(text), compiled, for an ASCII str (None for any other).");

static PyObject *mask_ascii(PyObject *self, PyObject *arg)
{
    unsigned char *m;
    Py_ssize_t len;
    PyObject *out;
    int ascii;
    (void)self;
    if ((ascii = ascii_str_arg(arg, "mask_ascii")) <= 0) {
        if (ascii < 0)
            return NULL;
        Py_RETURN_NONE;
    }
    if (mask_text(PyUnicode_1BYTE_DATA(arg), PyUnicode_GET_LENGTH(arg), &m, &len) < 0)
        return PyErr_NoMemory();
    if (m == NULL) {
        Py_INCREF(arg);
        return arg;
    }
    out = PyUnicode_DecodeASCII((const char *)m, len, NULL);
    PyMem_RawFree(m);
    return out;
}

static PyMethodDef methods[] = {
    {"split_ascii", split_ascii, METH_O, split_ascii_doc},
    {"mask_ascii", mask_ascii, METH_O, mask_ascii_doc},
    {"scan", scan, METH_VARARGS, scan_doc},
    {"prescan", prescan, METH_VARARGS, prescan_doc},
    {"prescan_background", prescan_background, METH_VARARGS, prescan_background_doc},
    {"finish", finish, METH_VARARGS, finish_doc},
    {"after_fork_in_child", after_fork_in_child, METH_NOARGS, after_fork_doc},
    {"match", match, METH_VARARGS, match_doc},
    {"classic_ns", classic_ns, METH_VARARGS, classic_ns_doc},
    {"blake2b_hex", blake2b_hex, METH_VARARGS, blake2b_hex_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_postfix_scan",
    "The compiled core of listcare's Postfix log reader (see listcare/bounces/detectors/postfix.py).",
    -1, methods, NULL, NULL, NULL, NULL,
};

/* what postfix.py expects (_SCAN_API): raise it with any change of the functions' contract,
 * so that a module built from an older source is not used */
#define SCAN_API 4

PyMODINIT_FUNC PyInit__postfix_scan(void)
{
    PyObject *m;
    if (PyType_Ready(&PrescanType) < 0)
        return NULL;
    m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&PrescanType);
    if (PyModule_AddIntConstant(m, "API", SCAN_API) < 0 ||
        PyModule_AddObject(m, "Prescan", (PyObject *)&PrescanType) < 0) {
        Py_DECREF(&PrescanType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
