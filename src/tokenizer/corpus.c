/* Corpus files: many tokenized pieces in one memory-mappable file.
 *
 * Layout (little-endian):
 *   0   8  magic "CANTUSCP"
 *   8   4  version (1)
 *   12  4  header size (128)
 *   16  32 tokenizer params (cantus_tokenizer_params_pack)
 *   48  8  number of tokens            56  8  number of documents
 *   64  8  offset of the tokens        72  8  offset of the document table
 *   80  8  offset of the names         88  8  size of the names
 *   96  4  meter numerator forced when tokenizing (0: the files' own)
 *   100 4  meter denominator (0: the files' own)
 *   104 8  offset of the part names       112 8  their size (both 0: none; older files)
 *   120 8  offset of the styles (0: none; older files)
 *   tokens: uint16 ids, at a 64-byte aligned offset
 *   documents: 4 x uint64 each: first token, token count, note count, name offset
 *   names: NUL-terminated strings
 *   part names: "INST_TOKEN=Name" lines (cantus_tokenizer_set_part_names), NUL-terminated
 *   styles: one name a line (cantus_tokenizer_set_styles), NUL-terminated; the vocabulary
 *   is the params' plus one STYLE token per style and then FILL */
#include "tokenizer/vocab.h"
#include "core/atomic.h"
#include "core/bytes.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "CANTUSCP"
#define VERSION 1
#define HEADER 128
#define NAMES_PER_PART 64   /* distinct track names counted per part; rarer ones are not */
#define PART_NAMES_MAX 65535 /* bytes of the part names (a model's metadata value holds them) */
#define STYLES_MAX (CANTUS_STYLES_MAX * CANTUS_STYLE_LINE_MAX + 32) /* bytes of the styles (and
                                                                 the @bar-positions line) */

void cantus_tokenizer_params_pack(const cantus_tokenizer_params *t, uint8_t *p)
{
    wr32(p + 0, (uint32_t)t->steps_per_quarter);
    wr32(p + 4, (uint32_t)t->max_bar_quarters);
    wr32(p + 8, (uint32_t)t->velocity_bins);
    wr32(p + 12, (uint32_t)t->tempo_bins);
    wrf(p + 16, t->tempo_min_bpm);
    wrf(p + 20, t->tempo_max_bpm);
    wr32(p + 24, (uint32_t)t->part_slots);
    wr32(p + 28, (uint32_t)t->max_duration_quarters);
}

int cantus_tokenizer_params_unpack(cantus_tokenizer_params *t, const uint8_t *p)
{
    memset(t, 0, sizeof *t);
    t->steps_per_quarter = (int32_t)rd32(p + 0);
    t->max_bar_quarters = (int32_t)rd32(p + 4);
    t->velocity_bins = (int32_t)rd32(p + 8);
    t->tempo_bins = (int32_t)rd32(p + 12);
    t->tempo_min_bpm = rdf(p + 16);
    t->tempo_max_bpm = rdf(p + 20);
    t->part_slots = (int32_t)rd32(p + 24);
    t->max_duration_quarters = (int32_t)rd32(p + 28);
    cantus_tokenizer *tok;
    int rc = cantus_tokenizer_new(&tok, t);
    if (rc)
        return CANTUS_EFORMAT; /* the message names the bad field */
    cantus_tokenizer_free(tok);
    return 0;
}

/* ---- reading ------------------------------------------------------------------------ */

struct cantus_corpus {
    cantus_tokenizer_params params;
    int meter_num, meter_den;
    const uint8_t *map;
    size_t size;
    const uint16_t *tokens;
    uint64_t n_tokens, n_docs;
    const uint8_t *docs;
    const char *names;
    uint64_t names_size;
    const char *part_names;
    const char *styles;
};

int cantus_corpus_open(cantus_corpus **out, const char *path)
{
    *out = NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return cantus_error(CANTUS_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return cantus_error(CANTUS_EIO, "%s: not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    if (size < HEADER) {
        close(fd);
        return cantus_error(CANTUS_EFORMAT, "%s: too short to be a cantus corpus", path);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return cantus_error(CANTUS_EIO, "%s: cannot map: %s", path, strerror(errno));
    cantus_corpus *c = calloc(1, sizeof *c);
    int rc = 0;
    if (!c) {
        munmap(map, size);
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    }
    c->map = map;
    c->size = size;
    const uint8_t *h = map;
    if (memcmp(h, MAGIC, 8)) {
        rc = cantus_error(CANTUS_EFORMAT, "%s: not a cantus corpus (made by 'cantus dataset')", path);
        goto fail;
    }
    if (rd32(h + 8) != VERSION || rd32(h + 12) != HEADER) {
        rc = cantus_error(CANTUS_EFORMAT, "%s: corpus version %u is not %d: make it again with "
                          "this cantus", path, rd32(h + 8), VERSION);
        goto fail;
    }
    if (cantus_tokenizer_params_unpack(&c->params, h + 16)) {
        rc = cantus_error(CANTUS_EFORMAT, "%s: bad tokenizer settings: %s", path, cantus_last_error());
        goto fail;
    }
    c->meter_num = (int)rd32(h + 96);
    c->meter_den = (int)rd32(h + 100);
    if (c->meter_num > 64 || c->meter_den > 64) {
        rc = cantus_error(CANTUS_EFORMAT, "%s: corrupt corpus (meter %d/%d)", path, c->meter_num,
                          c->meter_den);
        goto fail;
    }
    c->n_tokens = rd64(h + 48);
    c->n_docs = rd64(h + 56);
    uint64_t tok_off = rd64(h + 64), doc_off = rd64(h + 72), name_off = rd64(h + 80);
    c->names_size = rd64(h + 88);
    if (tok_off > size || c->n_tokens > (size - tok_off) / 2 || tok_off % 2 ||
        doc_off > size || c->n_docs > (size - doc_off) / 32 || doc_off % 8 ||
        name_off > size || c->names_size > size - name_off || c->names_size == 0 ||
        ((const char *)h)[name_off + c->names_size - 1] != '\0') {
        rc = cantus_error(CANTUS_EFORMAT, "%s: corrupt corpus (sizes and offsets do not fit the "
                          "file of %zu bytes)", path, size);
        goto fail;
    }
    uint64_t part_off = rd64(h + 104), part_size = rd64(h + 112);
    if (part_off || part_size) {
        if (part_off > size || part_size > size - part_off || part_size == 0 ||
            part_size > PART_NAMES_MAX + 1 || h[part_off + part_size - 1] != '\0') {
            rc = cantus_error(CANTUS_EFORMAT, "%s: corrupt corpus (its part names do not fit the "
                              "file)", path);
            goto fail;
        }
        c->part_names = (const char *)h + part_off;
    } else
        c->part_names = "";
    uint64_t style_off = rd64(h + 120);
    c->styles = "";
    if (style_off) {
        const uint8_t *end = style_off < size ? memchr(h + style_off, '\0', size - style_off) : NULL;
        if (!end || (uint64_t)(end - (h + style_off)) > STYLES_MAX) {
            rc = cantus_error(CANTUS_EFORMAT, "%s: corrupt corpus (its styles do not fit the file)",
                              path);
            goto fail;
        }
        c->styles = (const char *)h + style_off;
    }
    c->tokens = (const uint16_t *)(h + tok_off);
    c->docs = h + doc_off;
    c->names = (const char *)h + name_off;
    int vocab;
    {
        cantus_tokenizer *tok;
        if ((rc = cantus_corpus_tokenizer(c, &tok))) {
            rc = cantus_error(rc, "%s: corrupt corpus: %s", path, cantus_last_error());
            goto fail;
        }
        vocab = cantus_tokenizer_vocab_size(tok);
        cantus_tokenizer_free(tok);
    }
    for (uint64_t i = 0; i < c->n_docs; i++) {
        const uint8_t *d = c->docs + 32 * i;
        uint64_t start = rd64(d), count = rd64(d + 8), name = rd64(d + 24);
        if (start > c->n_tokens || count > c->n_tokens - start || name >= c->names_size) {
            rc = cantus_error(CANTUS_EFORMAT, "%s: corrupt corpus (document %llu is out of range)",
                              path, (unsigned long long)i);
            goto fail;
        }
    }
    for (uint64_t i = 0; i < c->n_tokens; i++)
        if (c->tokens[i] >= vocab) {
            rc = cantus_error(CANTUS_EFORMAT, "%s: corrupt corpus (token %llu is %u, the vocabulary "
                              "has %d)", path, (unsigned long long)i, c->tokens[i], vocab);
            goto fail;
        }
    *out = c;
    return 0;
fail:
    cantus_corpus_free(c);
    return rc;
}

void cantus_corpus_free(cantus_corpus *c)
{
    if (!c)
        return;
    if (c->map)
        munmap((void *)c->map, c->size);
    free(c);
}

void cantus_corpus_meter(const cantus_corpus *c, int *numerator, int *denominator)
{
    *numerator = c->meter_num;
    *denominator = c->meter_den;
}

const char *cantus_corpus_part_names(const cantus_corpus *c)
{
    return c->part_names;
}

const char *cantus_corpus_styles(const cantus_corpus *c)
{
    return c->styles;
}

int cantus_corpus_tokenizer(const cantus_corpus *c, cantus_tokenizer **out)
{
    int rc = cantus_tokenizer_new(out, &c->params);
    if (!rc && ((rc = cantus_tokenizer_set_styles(*out, c->styles)) ||
                (rc = cantus_tokenizer_set_part_names(*out, c->part_names)))) {
        cantus_tokenizer_free(*out);
        *out = NULL;
    }
    return rc;
}

const cantus_tokenizer_params *cantus_corpus_tokenizer_params(const cantus_corpus *c)
{
    return &c->params;
}

size_t cantus_corpus_n_tokens(const cantus_corpus *c)
{
    return (size_t)c->n_tokens;
}

const uint16_t *cantus_corpus_tokens(const cantus_corpus *c)
{
    return c->tokens;
}

size_t cantus_corpus_n_docs(const cantus_corpus *c)
{
    return (size_t)c->n_docs;
}

int cantus_corpus_get_doc(const cantus_corpus *c, size_t index, cantus_corpus_doc *doc)
{
    if (index >= c->n_docs)
        return cantus_error(CANTUS_ERANGE, "document %zu of %llu", index,
                            (unsigned long long)c->n_docs);
    const uint8_t *d = c->docs + 32 * index;
    doc->start = rd64(d);
    doc->count = rd64(d + 8);
    doc->notes = rd64(d + 16);
    doc->name = c->names + rd64(d + 24);
    return 0;
}

/* ---- writing ------------------------------------------------------------------------ */

/* How many pieces called a part by a name. */
struct name_count {
    int32_t style;  /* the style of the pieces counted, -1: every piece */
    int32_t part;   /* INST value */
    uint32_t count; /* pieces */
    char name[CANTUS_TRACK_NAME_MAX];
};

struct cantus_corpus_writer {
    cantus_tokenizer *tok;
    uint32_t *part_pieces;    /* (part_slots * INST_VALUES,) pieces that use each part */
    uint32_t *style_part_pieces; /* (CANTUS_STYLES_MAX, part_slots * INST_VALUES,) the same
                                    per style, NULL until a piece has a style */
    uint32_t style_pieces[CANTUS_STYLES_MAX]; /* pieces of each style counted */
    struct name_count *seen;  /* the names they give it */
    size_t n_seen, cap_seen;
    cantus_tokenizer_params params;
    int meter_num, meter_den;
    int vocab;
    uint16_t *tokens;
    size_t n_tokens, cap_tokens;
    uint64_t *docs; /* 4 per document */
    size_t n_docs, cap_docs;
    char *names;
    size_t names_size, cap_names;
};

int cantus_corpus_writer_new(cantus_corpus_writer **out, const cantus_tokenizer_params *params)
{
    *out = NULL;
    cantus_tokenizer *tok;
    int rc = cantus_tokenizer_new(&tok, params);
    if (rc)
        return rc;
    cantus_corpus_writer *w = calloc(1, sizeof *w);
    if (w)
        w->part_pieces = calloc((size_t)tok->p.part_slots * INST_VALUES, sizeof *w->part_pieces);
    if (!w || !w->part_pieces) {
        free(w);
        cantus_tokenizer_free(tok);
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    }
    w->tok = tok;
    w->params = *cantus_tokenizer_get_params(tok);
    w->vocab = cantus_tokenizer_vocab_size(tok);
    *out = w;
    return 0;
}

int cantus_corpus_writer_set_styles(cantus_corpus_writer *w, const char *text)
{
    if (w->n_docs)
        return cantus_error(CANTUS_ESTATE, "the styles of a corpus are set before its pieces");
    int rc = cantus_tokenizer_set_styles(w->tok, text);
    if (!rc)
        w->vocab = cantus_tokenizer_vocab_size(w->tok);
    return rc;
}

void cantus_corpus_writer_set_meter(cantus_corpus_writer *w, int numerator, int denominator)
{
    w->meter_num = numerator > 0 ? numerator : 0;
    w->meter_den = numerator > 0 ? denominator : 0;
}

void cantus_corpus_writer_free(cantus_corpus_writer *w)
{
    if (!w)
        return;
    free(w->tokens);
    free(w->docs);
    free(w->names);
    free(w->seen);
    free(w->part_pieces);
    free(w->style_part_pieces);
    cantus_tokenizer_free(w->tok);
    free(w);
}

static int reserve(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 1024;
    while (ncap < need)
        ncap *= 2;
    void *q = realloc(*p, ncap * elem);
    if (!q)
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    *p = q;
    *cap = ncap;
    return 0;
}

int cantus_corpus_writer_add(cantus_corpus_writer *w, const char *name, const int32_t *tokens,
                             size_t n, size_t n_notes)
{
    size_t nl = strlen(name) + 1;
    int rc;
    if ((rc = reserve((void **)&w->tokens, &w->cap_tokens, w->n_tokens + n, sizeof *w->tokens)) ||
        (rc = reserve((void **)&w->docs, &w->cap_docs, 4 * (w->n_docs + 1), sizeof *w->docs)) ||
        (rc = reserve((void **)&w->names, &w->cap_names, w->names_size + nl, 1)))
        return rc;
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= w->vocab)
            return cantus_error(CANTUS_EINVAL, "token %d is outside the vocabulary", tokens[i]);
    uint64_t *d = w->docs + 4 * w->n_docs++;
    d[0] = w->n_tokens;
    d[1] = n;
    d[2] = n_notes;
    d[3] = w->names_size;
    for (size_t i = 0; i < n; i++)
        w->tokens[w->n_tokens++] = (uint16_t)tokens[i];
    memcpy(w->names + w->names_size, name, nl);
    w->names_size += nl;
    return 0;
}

/* Counts one more piece of `style` (-1: every piece) calling part v `name`. */
static int count_name(cantus_corpus_writer *w, int style, int v, const char *name)
{
    size_t k = 0, of_part = 0;
    for (; k < w->n_seen && (w->seen[k].style != style || w->seen[k].part != v ||
                             strcmp(w->seen[k].name, name)); k++)
        of_part += w->seen[k].style == style && w->seen[k].part == v;
    if (k < w->n_seen) {
        w->seen[k].count++;
        return 0;
    }
    if (of_part >= NAMES_PER_PART)
        return 0;
    int rc = reserve((void **)&w->seen, &w->cap_seen, w->n_seen + 1, sizeof *w->seen);
    if (rc)
        return rc;
    struct name_count *e = &w->seen[w->n_seen++];
    e->style = style;
    e->part = v;
    e->count = 1;
    snprintf(e->name, sizeof e->name, "%s", name);
    return 0;
}

int cantus_corpus_writer_count_names(cantus_corpus_writer *w, const cantus_score *score, int style)
{
    const size_t n_parts = (size_t)w->params.part_slots * INST_VALUES;
    if (style >= cantus_tokenizer_n_styles(w->tok))
        return cantus_error(CANTUS_EINVAL, "style %d of %d", style, cantus_tokenizer_n_styles(w->tok));
    if (style >= 0 && !w->style_part_pieces &&
        !(w->style_part_pieces = calloc(CANTUS_STYLES_MAX * n_parts, sizeof *w->style_part_pieces)))
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    int32_t *inst = malloc((score->n_notes + 1) * sizeof *inst);
    uint8_t *done = calloc(n_parts, 1);
    int rc = !inst || !done ? cantus_error(CANTUS_ENOMEM, "out of memory")
                            : cantus_tokenizer_note_parts(w->tok, score, inst);
    if (!rc && style >= 0)
        w->style_pieces[style]++;
    /* each part once a piece, by the name of the track of its first note */
    for (size_t i = 0; i < score->n_notes && !rc; i++) {
        int v = inst[i];
        if (done[v])
            continue;
        done[v] = 1;
        w->part_pieces[v]++;
        if (style >= 0)
            w->style_part_pieces[(size_t)style * n_parts + (size_t)v]++;
        char name[CANTUS_TRACK_NAME_MAX];
        cantus_vocab_clean_name(name, score->notes[i].track < score->n_tracks
                                          ? score->tracks[score->notes[i].track].name : "");
        if (name[0] && !(rc = count_name(w, -1, v, name)) && style >= 0)
            rc = count_name(w, style, v, name);
    }
    free(inst);
    free(done);
    return rc;
}

/* The name most of the pieces of `style` (-1: all) using part v give it, if at least half
 * of them do; NULL if none. */
static const char *common_name(const cantus_corpus_writer *w, int style, int v, uint32_t pieces)
{
    const struct name_count *best = NULL;
    for (size_t k = 0; k < w->n_seen; k++)
        if (w->seen[k].style == style && w->seen[k].part == v &&
            (!best || w->seen[k].count > best->count))
            best = &w->seen[k];
    return best && 2 * (uint64_t)best->count >= pieces ? best->name : NULL;
}

/* Each style's parts: those played by at least one in twenty of its pieces (the most
 * played CANTUS_STYLE_PARTS_MAX), in INST order, each with its common name (spaces as
 * '_'; ',' and ':' left out), into the tokenizer's style settings. */
static int set_style_parts(cantus_corpus_writer *w)
{
    const int n_parts = w->params.part_slots * INST_VALUES;
    for (int k = 0; k < cantus_tokenizer_n_styles(w->tok) && w->style_part_pieces; k++) {
        const uint32_t *count = w->style_part_pieces + (size_t)k * (size_t)n_parts;
        cantus_style_settings st;
        cantus_tokenizer_style_settings(w->tok, k, &st);
        st.n_parts = 0;
        for (int v = 0; v < n_parts; v++) {
            if (!count[v] || 20 * (uint64_t)count[v] < w->style_pieces[k])
                continue;
            int at = st.n_parts;
            if (at == CANTUS_STYLE_PARTS_MAX) { /* replace the least played, if this beats it */
                int least = 0;
                for (int i = 1; i < at; i++)
                    if (count[st.parts[i]] < count[st.parts[least]])
                        least = i;
                if (count[st.parts[least]] >= count[v])
                    continue;
                for (int i = least; i + 1 < at; i++) {
                    st.parts[i] = st.parts[i + 1];
                    memcpy(st.part_names[i], st.part_names[i + 1], sizeof st.part_names[i]);
                }
                at--;
            }
            st.parts[at] = v;
            const char *name = common_name(w, k, v, count[v]);
            size_t len = 0;
            for (; name && *name && len + 1 < CANTUS_STYLE_PART_NAME_MAX; name++)
                if (*name != ',' && *name != ':')
                    st.part_names[at][len++] = *name == ' ' ? '_' : *name;
            st.part_names[at][len] = '\0';
            st.n_parts = at + 1;
        }
        int rc = cantus_tokenizer_set_style_settings(w->tok, k, &st);
        if (rc)
            return rc;
    }
    return 0;
}

/* The part names of the pieces counted: for each part, the name most of the pieces using it
 * give it, if at least half of them do. Written to `out` (PART_NAMES_MAX + 1 bytes). */
static size_t part_names_text(const cantus_corpus_writer *w, char *out)
{
    size_t len = 0;
    out[0] = '\0';
    for (int v = 0; v < w->params.part_slots * INST_VALUES; v++) {
        const char *best = common_name(w, -1, v, w->part_pieces[v]);
        if (!best)
            continue;
        char token[32], line[CANTUS_TRACK_NAME_MAX + 40];
        if (cantus_tokenizer_token_name(w->tok, cantus_tokenizer_id(w->tok, CANTUS_TOK_INST, v),
                                        token, sizeof token))
            continue;
        int n = snprintf(line, sizeof line, "%s=%s\n", token, best);
        if (n < 0 || len + (size_t)n > PART_NAMES_MAX)
            break;
        memcpy(out + len, line, (size_t)n + 1);
        len += (size_t)n;
    }
    return len;
}

int cantus_corpus_writer_save(cantus_corpus_writer *w, const char *path)
{
    int rc = set_style_parts(w);
    if (rc)
        return rc;
    char *part_names = malloc(PART_NAMES_MAX + 1);
    if (!part_names)
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    size_t part_len = part_names_text(w, part_names);
    size_t tok_off = HEADER;
    size_t doc_off = (tok_off + 2 * w->n_tokens + 63) / 64 * 64;
    size_t name_off = doc_off + 32 * w->n_docs;
    size_t names_size = w->names_size ? w->names_size : 1;
    size_t part_off = name_off + names_size;
    size_t style_off = part_off + (part_len ? part_len + 1 : 0);
    char *styles = malloc(STYLES_MAX + 1);
    if (!styles) {
        free(part_names);
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    }
    size_t style_len = cantus_tokenizer_styles_text(w->tok, styles, STYLES_MAX + 1);
    size_t total = style_off + (style_len ? style_len + 1 : 0);
    uint8_t *buf = calloc(1, total);
    if (!buf) {
        free(part_names);
        free(styles);
        return cantus_error(CANTUS_ENOMEM, "out of memory");
    }
    memcpy(buf, MAGIC, 8);
    wr32(buf + 8, VERSION);
    wr32(buf + 12, HEADER);
    cantus_tokenizer_params_pack(&w->params, buf + 16);
    wr64(buf + 48, w->n_tokens);
    wr64(buf + 56, w->n_docs);
    wr64(buf + 64, tok_off);
    wr64(buf + 72, doc_off);
    wr64(buf + 80, name_off);
    wr64(buf + 88, names_size);
    wr32(buf + 96, (uint32_t)w->meter_num);
    wr32(buf + 100, (uint32_t)w->meter_den);
    if (part_len) {
        wr64(buf + 104, part_off);
        wr64(buf + 112, part_len + 1);
        memcpy(buf + part_off, part_names, part_len + 1);
    }
    free(part_names);
    if (style_len) {
        wr64(buf + 120, style_off);
        memcpy(buf + style_off, styles, style_len); /* and the NUL calloc left */
    }
    free(styles);
    for (size_t i = 0; i < w->n_tokens; i++) {
        buf[tok_off + 2 * i] = (uint8_t)w->tokens[i];
        buf[tok_off + 2 * i + 1] = (uint8_t)(w->tokens[i] >> 8);
    }
    for (size_t i = 0; i < 4 * w->n_docs; i++)
        wr64(buf + doc_off + 8 * i, w->docs[i]);
    if (w->names_size)
        memcpy(buf + name_off, w->names, w->names_size);
    rc = cantus_atomic_write(path, buf, total);
    free(buf);
    return rc;
}
