/* cantus sampler: choosing tokens from a model's logits (temperature, top-k, top-p, a seed
 * of our own), masked by the token grammar so that every sampled sequence decodes, and by
 * musical constraints (bars, pitch range, instruments, key, meter, tempo); and
 * cantus_generate(), which writes new music (or continues a prompt) with a model. */
#ifndef CANTUS_SAMPLER_H
#define CANTUS_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "cantus/midi.h"
#include "cantus/model.h"
#include "cantus/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cantus_sampler_params {
    float temperature; /* divides the logits; 0 = always the likeliest; 0..5; default 1.0 */
    int32_t top_k;     /* keep only the k likeliest tokens; 0 = off; default 0 */
    float top_p;       /* keep the likeliest tokens whose probabilities sum to top_p;
                          (0, 1], 1 = off; default 0.95 */
    uint64_t seed;     /* the random generator's seed; default 1 */
    int32_t truncate_expression; /* 0: top-k and top-p cut what is played and when
                          (pitches, onsets, parts, tempo, bar lines) but a note's duration
                          and velocity are drawn from the whole distribution, whose tail is
                          held notes and accents rather than wrong notes, and so is what a
                          drum part plays next (a drum, or moving on: a kit has no wrong
                          notes, and cutting its rarer drums makes snare-heavy grooves);
                          1: they cut every token; default 0 */
    int32_t truncate_within_kind; /* 1: the kind of the next token (another note's pitch,
                          an onset, a part, a bar line, ...) is drawn from the whole
                          distribution first, and top-k and top-p cut only among the
                          tokens of that kind, so that a chord's next note, whose chance
                          is spread thinly over many pitches, is not cut for being spread
                          (fuller pop chords, denser quartets: models/README.md); 0: they
                          cut the tokens of every kind together; default 0 */
} cantus_sampler_params;

cantus_sampler_params cantus_sampler_default_params(void);

/* Musical constraints, applied through the mask. */
typedef struct cantus_constraints {
    int32_t bars;          /* end the piece after this many bars (counting from the first
                              token fed, prompt included); 0 = until the model ends it */
    int32_t pitch_min;     /* lowest pitched note, 0..127; default 0 (drums are not bound) */
    int32_t pitch_max;     /* highest pitched note, pitch_min..127; default 127 */
    int32_t key_tonic;     /* -1: any pitch; 0..11 (C = 0): only the key's scale */
    int32_t key_minor;     /* with key_tonic: 0 major, 1 natural minor (its raised seventh
                              allowed too) */
    uint8_t instruments[129]; /* 1 = may play: GM programs 0..127, [128] drums; default all */
    int32_t meter_numerator;  /* 0: free; else the meter of every new bar (e.g. 3) ... */
    int32_t meter_denominator;/* ... over this (e.g. 4) */
    float tempo_bpm;       /* 0: free; else the only tempo of the new music */
    int32_t no_tempo_changes; /* 1: no TEMPO token in the new music (a continuation keeps
                                 its prompt's tempo); default 0 */
    int32_t full_start;    /* 1: a new piece opens as the training pieces do: its first bar
                              gives a meter and its first position, the bar line, a tempo
                              (the model picks them), and plays a note before it ends;
                              default 0 (cantus_generate sets it for new music) */
    int32_t only_parts;    /* 1: only the parts marked in `parts` may play (a continuation
                              keeps its prompt's parts); default 0 */
    uint8_t parts[16 * 129]; /* with only_parts: 1 = INST value (slot * 129 + instrument)
                                may play */
    int32_t pedal_hold_quarters; /* a model with the pedal (PEDAL tokens): once a pitched
                                part's pedal has been down this many quarter notes, its
                                next onset lifts it (PEDAL_UP or PEDAL_CHANGE, as the model
                                would rather) before its notes, and a part that rests
                                comes in at the next position to lift it (its INST first,
                                then the pedal alone or with notes), so that nothing rings
                                on much longer than that; 0 = never, the
                                default: POP909's pianists hold it longer in about one
                                16-bar stretch in ten (held-out and training songs alike),
                                and a model that writes such holds is the closer to the
                                songs for them (models/README.md, v9) */
} cantus_constraints;

cantus_constraints cantus_constraints_default(void);

typedef struct cantus_sampler cantus_sampler;

/* `tok` is borrowed and must outlive the sampler. Checks the params and constraints
 * (CANTUS_EINVAL naming the bad one). */
int cantus_sampler_new(cantus_sampler **out, const cantus_tokenizer *tok,
                       const cantus_sampler_params *params, const cantus_constraints *c);
void cantus_sampler_free(cantus_sampler *s);

/* Feeds a token that is part of the sequence (a prompt's, or one sampled): advances the
 * grammar. CANTUS_ESTATE if the grammar forbids it. Tokens fed with `is_prompt` set are
 * not bound by the constraints. */
int cantus_sampler_accept(cantus_sampler *s, int32_t token, int is_prompt);

/* The tokens that may come next (grammar and constraints): allowed[i] = 0 or 1. */
void cantus_sampler_mask(const cantus_sampler *s, uint8_t *allowed);

/* Draws the next token from `logits` (vocab_size floats; overwritten), feeds it, and
 * returns it in `*token`. CANTUS_ESTATE if no token is allowed. Never allocates. */
int cantus_sampler_sample(cantus_sampler *s, float *logits, int32_t *token);

/* The TEMPO value (bin) of the forced tempo, -1 if none is forced. */
int cantus_sampler_tempo_bin(const cantus_sampler *s);

/* 1 once EOS was fed. */
int cantus_sampler_done(const cantus_sampler *s);
/* Bars begun so far. */
int64_t cantus_sampler_bars(const cantus_sampler *s);

/* ---- generation ------------------------------------------------------------------ */

typedef struct cantus_generate_params {
    int32_t bars;                   /* new bars to write; 1..10000; default 16 */
    cantus_sampler_params sampling; /* default: cantus_sampler_default_params() */
    cantus_constraints constraints; /* `bars` in it is set by cantus_generate */
    const cantus_score *prompt;     /* NULL, or music to continue (borrowed) */
    int32_t only_new;               /* with a prompt: 1 = output only the new bars, the
                                       first starting at tick 0; default 0 */
    int32_t follow_prompt;          /* with a prompt: 1 = keep its meter, tempo, parts, key
                                       (when it says one clearly) and register (its pitch
                                       range, an octave either side) unless the constraints
                                       set them; default 1 */
    int32_t threads;                /* threads of the model's pool; 0 = all cores; default 0 */
    const char *style;              /* the style of the music (a STYLE token of the
                                       model's, e.g. "drums"); NULL: the one the prompt's
                                       instruments suggest (cantus_tokenizer_guess_style)
                                       when the model knows it, else "pop" when the model
                                       knows it, else none (the model may pick one). A
                                       name the model lacks: CANTUS_EINVAL listing its
                                       styles; default NULL */
    int32_t tail;                   /* 0 = an exact clip: every new note ends by the last
                                       bar line of the new music (cut there) and so does
                                       the score (a DAW sees exactly `bars` bars after the
                                       prompt, if any); 1 = the last notes ring on past it,
                                       as the model wrote them; default 0 */
    int32_t from_bar;               /* 0 or 1 = the piece (or the prompt) starts a piece;
                                       N > 1 = it starts at bar N of one (a verse, say,
                                       not an intro), for a model with bar positions
                                       (cantus_tokenizer_has_bar_positions; else
                                       CANTUS_EINVAL); default 0 */
} cantus_generate_params;

cantus_generate_params cantus_generate_default_params(void);

/* Statistics of one generation. */
typedef struct cantus_generate_stats {
    int64_t tokens;        /* tokens sampled */
    int64_t prompt_tokens; /* prompt tokens fed to the model */
    int64_t windows;       /* times the context window slid */
    int64_t prompt_bars;   /* bars of the prompt (the continuation starts after them) */
    int64_t continuation_tick; /* where the new music starts in the output score, ticks:
                                  the prompt's bar-aligned end; 0 without a prompt or with
                                  only_new */
} cantus_generate_stats;

/* Writes `params->bars` bars of new music with `model` (or continues the prompt) and
 * returns it as a new score (PPQ 480, or the prompt's): every note switched off,
 * bar-aligned, ending at its last bar line unless params->tail, one track per part. When
 * the piece outgrows the model's context, the window slides (to a bar line) and
 * generation goes on. `stats` may be NULL. */
int cantus_generate(const cantus_model *model, const cantus_generate_params *params,
                    cantus_score **out, cantus_generate_stats *stats);

/* The style cantus_generate writes for `params` with the model's tokenizer `tok`: its index
 * in `*style`, -1 for none (see cantus_generate_params.style); CANTUS_EINVAL if
 * params->style names one `tok` lacks. */
int cantus_generate_pick_style(const cantus_tokenizer *tok, const cantus_generate_params *params,
                               int *style);

/* For a style name `tok` lacks: sets the error saying so, with the styles it has (or that
 * it has none), and returns CANTUS_EINVAL. */
int cantus_generate_unknown_style(const cantus_tokenizer *tok, const char *name);

/* ---- a model's sampling, style by style -------------------------------------------
 * A model may say how each of its styles samples best, as chosen by measuring samples
 * against the style's training files (never its held-out ones): metadata under the key
 * CANTUS_SAMPLING_KEY, one style a line, its name and then `top-p=P` (0.001..1, as
 * --top-p takes), `temperature=T` (0..5) and `within-kind=0|1` (truncate_within_kind),
 * any of them, each once: "pop top-p=0.9\nquartet top-p=0.95 within-kind=1\n".
 * `cantus generate` and `cantus play` use them for new music where the user gives no
 * --top-p or --temperature (play's answers to a player only with --style); within-kind
 * goes with the line's top-p: it applies, to top-p's cut and top-k's, unless a --top-p is
 * given, and then the flags say how to cut. `cantus accompany` keeps the common
 * defaults. */
#define CANTUS_SAMPLING_KEY "sampling"

/* Checks such text: 0, or CANTUS_EFORMAT naming the line and what is wrong with it (not
 * a style name, a style given twice, a style `tok` lacks when `tok` is not NULL, no
 * settings, or a setting unknown, out of range or given twice). Empty lines are
 * allowed. */
int cantus_sampling_check(const char *text, const cantus_tokenizer *tok);

/* Sets in `*p` the settings the line of style `name` gives, leaving the others (nothing
 * when `text` is NULL or has no line for it); CANTUS_EFORMAT as cantus_sampling_check
 * when the text is bad, leaving `*p` as it was. */
int cantus_sampling_for_style(const char *text, const char *name, cantus_sampler_params *p);

/* Most pieces one cantus_generate_batch() call writes. */
#define CANTUS_GENERATE_MAX_BATCH CANTUS_MODEL_MAX_SEQUENCES

/* Writes `n` variations (1..CANTUS_GENERATE_MAX_BATCH) at once: piece k is what
 * cantus_generate() writes with params->sampling.seed + k, the same notes to the bit (each
 * has its own sampler, grammar and window; each drops out when it ends). They are decoded
 * together, one token of each per step, so the model's weights are read once per step for
 * all of them (faster than n calls); memory grows by one KV cache per piece. out and
 * stats (may be NULL) have n entries; on failure every out[k] is NULL. */
int cantus_generate_batch(const cantus_model *model, const cantus_generate_params *params,
                          int n, cantus_score **out, cantus_generate_stats *stats);

/* ---- accompaniment ---------------------------------------------------------------- */

/* Parts written around given music: the model reads each bar of the given part before it
 * writes that bar's other parts (the accompaniment layout, FILL in the tokenizer), so the
 * accompaniment follows where the melody goes in the bar, not only where it has been. */
typedef struct cantus_accompany_params {
    const cantus_score *given;      /* the music to accompany (borrowed): all of its
                                       pitched notes are the given part (a melody); its
                                       tempo and meter are the piece's */
    const char *style;              /* a style whose pieces the model learned in the
                                       accompaniment layout (a `given=` setting of its
                                       styles); NULL: pop; else CANTUS_EINVAL naming the
                                       styles that can */
    cantus_sampler_params sampling; /* default: cantus_sampler_default_params() */
    cantus_constraints constraints; /* for the written parts (instruments, key, pitch
                                       range); bars and parts are set by cantus_accompany */
    int32_t threads;                /* threads of the model's pool; 0 = all cores */
    int32_t tail;                   /* 0 = the written notes end by the given music's last
                                       bar line; 1 = they ring on as written */
    int32_t meter_numerator;        /* 0: the bars of the given music's time signatures;
                                       else bars of this meter (for files whose signatures
                                       are wrong, like POP909's: 4/4) ... */
    int32_t meter_denominator;      /* ... over this; the output keeps the file's own */
    int32_t continue_bars;          /* 0..10000: after the given music's last bar, this many
                                       bars more of the whole piece, the given part's
                                       continuation included (the model writes it as it
                                       learned it, before each bar's FILL); its notes go on
                                       a track of their own, so the given tracks stay as
                                       they were; default 0 */
    int32_t from_bar;               /* 0 or 1: the given music starts a piece; N > 1: it
                                       is from bar N of one (a model with bar positions
                                       only, else CANTUS_EINVAL); default 0 */
} cantus_accompany_params;

cantus_accompany_params cantus_accompany_default_params(void);

typedef struct cantus_accompany_stats {
    int64_t bars;         /* bars of the piece (the continuation's too) */
    int64_t given_notes;  /* notes of the given music (all kept) */
    int64_t notes;        /* notes written around it (the continuation's too) */
    int64_t continued_notes; /* of those, notes of the given part's continuation */
    int64_t tokens;       /* tokens sampled */
    int64_t windows;      /* times the context window slid */
} cantus_accompany_stats;

/* Writes parts around params->given and returns the whole piece as a new score at the
 * given music's PPQ: its tracks, notes, controllers, tempo and meter exactly as they were,
 * then one track per written part (named as the model's training files named it, on
 * channels the given music leaves free). CANTUS_EINVAL when the given music has no
 * pitched note or the model did not learn to accompany in the style. `stats` may be
 * NULL. */
int cantus_accompany(const cantus_model *model, const cantus_accompany_params *params,
                     cantus_score **out, cantus_accompany_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
