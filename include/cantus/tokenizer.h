/* cantus tokenizer: scores <-> token ids, REMI+-style and beat-relative.
 *
 * A piece is   BOS [STYLE] (BAR [TIMESIG] EVENTS [FILL EVENTS])* EOS
 * where EVENTS is (POS [TEMPO] (INST (PEDAL | [PEDAL] (PITCH VEL DUR)+))*)*
 * - STYLE_name says what kind of music the piece is (pop, drums, ...): a vocabulary has
 *   one STYLE token per style of the corpus it was made for (cantus_tokenizer_set_styles),
 *   none by default, and they come last, after every other token, so that a vocabulary
 *   without styles is the same as before styles existed;
 * - FILL (in a vocabulary with styles, its last token) splits a bar in the accompaniment
 *   layout: first the notes of one given part (a melody) and the bar's tempo changes, then
 *   FILL, then the other parts' notes from the bar's start again (POS restarts; no TEMPO).
 *   A model that learned it sees each bar of the given part before it writes the parts
 *   around it (cantus accompany);
 * - BAR starts a bar; TIMESIG (after BAR) sets the meter from that bar on (4/4 until one
 *   is given);
 * - POS_p is the onset inside the bar in grid steps (steps_per_quarter per quarter note),
 *   strictly increasing inside a bar;
 * - TEMPO_t sets the tempo (log-spaced bins) from that position on;
 * - INST names the part a note belongs to: a General MIDI program 0..127 or drums (128),
 *   and a part slot 0..part_slots-1 that keeps separate tracks with the same instrument
 *   apart (POP909's MELODY, BRIDGE and PIANO are slots 0, 1 and 2 of piano). INST is
 *   given before the first note at each position and again whenever the part changes;
 * - PITCH VEL DUR is one note; inside one position and part, pitches strictly rise.
 *   DUR is the note's length; in a vocabulary with the pedal (below) the sustain pedal
 *   is said by PEDAL tokens and DUR is the key's, else the pedal is folded into DUR;
 * - PEDAL_UP, PEDAL_DOWN, PEDAL_CHANGE (up, then down again at once) move a part's sustain
 *   pedal (controller 64): right after the part's INST, before its notes at that position.
 * The vocabulary is defined once, from cantus_tokenizer_params, in src/tokenizer/vocab.c;
 * a model file stores these params so that it always decodes with its own tokenizer. */
#ifndef CANTUS_TOKENIZER_H
#define CANTUS_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "cantus/midi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CANTUS_INSTRUMENT_DRUMS 128 /* the instrument number of drums in tokens */

typedef struct cantus_tokenizer_params {
    int32_t steps_per_quarter; /* grid steps per quarter note; 1..48; default 12
                                  (sixteenths = 3 steps, eighth triplets = 4) */
    int32_t max_bar_quarters;  /* longest bar, quarter notes; 1..16; default 8 */
    int32_t velocity_bins;     /* velocity bins over 1..127; 2..127; default 16 */
    int32_t tempo_bins;        /* log-spaced tempo bins; 2..256; default 72 */
    float tempo_min_bpm;       /* lowest tempo bin centre, BPM; default 30 */
    float tempo_max_bpm;       /* highest tempo bin centre, BPM; default 300 */
    int32_t part_slots;        /* parts per instrument kept apart; 1..16; default 4 */
    int32_t max_duration_quarters; /* longest duration bin, quarter notes; default 16 */
} cantus_tokenizer_params;

/* What a token is. */
enum cantus_token_kind {
    CANTUS_TOK_PAD = 0,
    CANTUS_TOK_BOS,
    CANTUS_TOK_EOS,
    CANTUS_TOK_BAR,
    CANTUS_TOK_TIMESIG,
    CANTUS_TOK_POS,
    CANTUS_TOK_TEMPO,
    CANTUS_TOK_INST,
    CANTUS_TOK_PITCH,
    CANTUS_TOK_VEL,
    CANTUS_TOK_DUR,
    CANTUS_TOK_STYLE, /* last three: absent from a vocabulary without styles */
    CANTUS_TOK_FILL,
    CANTUS_TOK_FROM,  /* and this one from a vocabulary without bar positions */
    CANTUS_TOK_PEDAL, /* and this one from a vocabulary without the pedal */
    CANTUS_TOK_KINDS
};

typedef struct cantus_tokenizer cantus_tokenizer;

/* The defaults described above. */
cantus_tokenizer_params cantus_tokenizer_default_params(void);

/* Checks `params` (CANTUS_EINVAL with the reason) and builds the vocabulary. */
int cantus_tokenizer_new(cantus_tokenizer **out, const cantus_tokenizer_params *params);
void cantus_tokenizer_free(cantus_tokenizer *tok);

const cantus_tokenizer_params *cantus_tokenizer_get_params(const cantus_tokenizer *tok);
int cantus_tokenizer_vocab_size(const cantus_tokenizer *tok);

/* Kind of a token id and its value inside the kind (POS_7 -> CANTUS_TOK_POS, 7; INST ->
 * slot * 129 + instrument). -1 for an id outside the vocabulary. */
int cantus_tokenizer_kind(const cantus_tokenizer *tok, int32_t id, int *value);
/* The id of (kind, value), or -1. */
int32_t cantus_tokenizer_id(const cantus_tokenizer *tok, int kind, int value);

/* A printable name ("BAR", "POS_12", "TEMPO_120", "INST_piano_0", "PITCH_C4", "VEL_80",
 * "DUR_1/2", "TIMESIG_3/4"...) and back. */
int cantus_tokenizer_token_name(const cantus_tokenizer *tok, int32_t id, char *buf, size_t size);
int cantus_tokenizer_token_from_name(const cantus_tokenizer *tok, const char *name, int32_t *id);
/* One line of a token listing, as `cantus tokenize` prints it and `cantus detokenize`
 * reads it: a token's name or id, blanks around it, and an optional comment from a '#' at
 * the line's start or after a blank ("PITCH_F#4" is a name). 0 with *id the token, or -1
 * for a line without one (blank, or a comment); CANTUS_EFORMAT saying why otherwise. The
 * line is changed (the comment and blanks cut off). */
int cantus_tokenizer_parse_line(const cantus_tokenizer *tok, char *line, int32_t *id);

/* Parses a part as its INST token names it without "INST_": a General MIDI program, or
 * "drums", then ".SLOT" for a slot after the first ("0" = piano, "0.1" = its second part,
 * "53" = voice). Returns the INST value (slot * 129 + instrument), or -1. */
int cantus_tokenizer_parse_part(const cantus_tokenizer *tok, const char *text);

/* Parses a pitch: a MIDI number ("60") or a note name ("C4" = 60, "F#2", "Bb-1").
 * Returns 0..127, or -1 if the text is neither. */
int cantus_parse_pitch(const char *text);

/* Options for turning a score into tokens. */
typedef struct cantus_encode_params {
    int meter_numerator;   /* 0: use the file's time signatures; else force this meter */
    int meter_denominator; /* with meter_numerator, e.g. 4/4 */
    int add_bos;           /* 1: start with BOS (default 1) */
    int add_eos;           /* 1: end with EOS (default 1) */
    int64_t until_tick;    /* 0: bars up to the last onset; else also (empty) bars up to
                              this tick, e.g. a prompt's end (default 0) */
    int style;             /* -1: no STYLE token (default); else the index of the style
                              (cantus_tokenizer_style_index) whose token follows BOS */
    int given;             /* -1 (default): each bar in time order; else the INST value of
                              the part each bar gives first, in the accompaniment layout
                              (FILL; the vocabulary must have styles) */
} cantus_encode_params;

cantus_encode_params cantus_encode_default_params(void);

/* The part of each note as the INST value the encoder gives it (slot * 129 + instrument):
 * parts are (track, channel, instrument) groups; the k-th group of one instrument, in
 * track order, is slot k (the last slot takes the rest). `inst` has n_notes entries. */
int cantus_tokenizer_note_parts(const cantus_tokenizer *tok, const cantus_score *score,
                                int32_t *inst);

/* Score -> tokens. `*tokens` is allocated (free() it); `*n_tokens` its length. */
int cantus_tokenizer_encode(const cantus_tokenizer *tok, const cantus_score *score,
                            const cantus_encode_params *params, int32_t **tokens,
                            size_t *n_tokens);

/* Tokens -> a new score at CANTUS_DEFAULT_PPQ. A token out of order is an error
 * (CANTUS_EFORMAT, naming its index) when `strict`, else skipped. */
int cantus_tokenizer_decode(const cantus_tokenizer *tok, const int32_t *tokens,
                            size_t n_tokens, int strict, cantus_score **out);

/* ---- part names: what each part was called in the music a model learned from ---------
 * The track names of its training files, e.g. POP909's MELODY, BRIDGE and PIANO for slots
 * 0, 1 and 2 of piano. Carried as text, one "INST_TOKEN=Name" line a part
 * ("INST_0=Melody\nINST_0.1=Bridge\nINST_0.2=Piano\n"): a corpus file holds them
 * (cantus_corpus_part_names) and `cantus train` writes them to the model's metadata under
 * the key `part_names`. The decoder names each part's track by them; a part without a
 * name is named after its General MIDI instrument ("Acoustic Grand Piano 2" for slot 1). */

/* Sets the part names from such text; NULL or "" clears them. CANTUS_EFORMAT naming the
 * line if one is not "INST_TOKEN=Name" for this vocabulary (names longer than
 * CANTUS_TRACK_NAME_MAX - 1 bytes are cut). */
int cantus_tokenizer_set_part_names(cantus_tokenizer *tok, const char *text);
/* The name of a part (INST value), "" if it has none. */
const char *cantus_tokenizer_part_name(const cantus_tokenizer *tok, int inst);

/* ---- cleaning: what is put right as a file is tokenized ------------------------------
 * Some corpora write their music in ways the tokens should not learn. The rules below
 * change a score in place before it is tokenized (`cantus dataset`, `tokenize` and `eval`
 * apply them; a generation prompt is left as the user wrote it); each is triggered by what
 * the file says, or by the caller who knows where the files come from:
 * 1. Roland TD drum kits (the Groove MIDI Dataset's electronic kit): a drum part that
 *    plays note 22 or 26, which no General MIDI kit has (the TD kit's closed and open
 *    hi-hat edges), is read as a TD kit and its non-GM notes become their General MIDI
 *    equivalents: 22 -> 42 (closed hi-hat), 26 -> 46 (open hi-hat), 58 (the TD's floor
 *    tom rim, General MIDI's vibraslap) -> 43 (high floor tom). With `td_kit` set by the
 *    caller, every drum part is read as a TD kit.
 * 2. Sung parts written as instruments (MuseScore's export of the OpenScore Lieder writes
 *    the voice as Oboe 68 or Choir Aahs 52): a track on program 68 or 52 whose name says
 *    it is sung (voice, vocal, singer, soprano, mezzo, alto, contralto, tenor, baritone,
 *    bass, Singstimme, Gesang, Stimme, voix, voce, canto) becomes a voice, program
 *    CANTUS_VOICE_PROGRAM; so does every part on a program marked in `sung` by the
 *    caller. Voice Oohs is General MIDI's only solo voice (Choir Aahs is a choir), so a
 *    model learns one sound for a singer whichever way the file wrote it. */
#define CANTUS_VOICE_PROGRAM 53 /* General MIDI Voice Oohs */

typedef struct cantus_clean_params {
    int32_t td_kit;     /* 1: every drum part is a Roland TD kit; 0: only those that play
                           22 or 26 (default 0) */
    uint8_t sung[128];  /* 1: parts on this program are sung (default: none) */
} cantus_clean_params;

/* What cleaning changed in one score. */
typedef struct cantus_clean_report {
    size_t drum_notes;  /* drum notes moved to their General MIDI equivalent */
    size_t drum_parts;  /* drum parts read as a TD kit that had such notes */
    size_t voice_notes; /* notes moved to the voice program */
    size_t voice_parts; /* parts (track, channel) made a voice */
} cantus_clean_report;

cantus_clean_params cantus_clean_default_params(void);
/* Applies the rules to `score` in place. `params` NULL: the defaults; `report` may be
 * NULL. */
int cantus_tokenizer_clean(cantus_score *score, const cantus_clean_params *params,
                            cantus_clean_report *report);

/* ---- styles: the kinds of music a vocabulary tells apart ------------------------------
 * Set from text, one style a line: its name, then after spaces how its pieces were
 * tokenized (cantus_style_settings), as `meter=N/D` (a meter forced on them), `kit=td`
 * (every drum part a Roland TD kit), `sung=P,P...` (programs made a voice), `given=P`
 * (a part also given ahead, see FILL) and `parts=P[:Name],...` (the parts its pieces play,
 * named as most of them name it):
 * "pop meter=4/4\ndrums kit=td\nlieder sung=52,68\nquartet\n". A corpus file holds the
 * styles its pieces were tagged with (cantus_corpus_styles, from `cantus dataset
 * DIR:STYLE`), and `cantus train` writes them to the model's metadata under the key
 * `styles`, so `cantus eval --style` reads held-out files as that style's were read. Style
 * k is the token STYLE_name of id (size of the vocabulary without styles) + k. A name is
 * 1..CANTUS_STYLE_NAME_MAX - 1 characters of a-z, 0-9, '-' and '_'; names are distinct. */
#define CANTUS_STYLES_MAX 64
#define CANTUS_STYLE_NAME_MAX 32
#define CANTUS_STYLE_LINE_MAX 1000 /* the longest line of a style (name and settings) */
#define CANTUS_STYLE_PARTS_MAX 16
#define CANTUS_STYLE_PART_NAME_MAX 32

/* How the pieces of a style were tokenized. */
typedef struct cantus_style_settings {
    int32_t meter_numerator;    /* the meter forced on them (0: the files' own) ... */
    int32_t meter_denominator;  /* ... over this */
    cantus_clean_params clean;  /* their cleaning (default: cantus_clean_default_params) */
    int32_t given;              /* the part (INST value) their pieces were also written
                                   giving first, in the accompaniment layout (`given=P`
                                   or `given=P.SLOT`, as INST_P.SLOT); -1: none */
    int32_t n_parts;            /* the parts their pieces play (`parts=P[:Name],...`, by
                                   INST value, as given), 0: not known. Generation in the
                                   style writes only these, and names their tracks by them */
    int32_t parts[CANTUS_STYLE_PARTS_MAX];
    char part_names[CANTUS_STYLE_PARTS_MAX][CANTUS_STYLE_PART_NAME_MAX]; /* "" if none; in
                                   the text '_' stands for a space */
} cantus_style_settings;

/* Checks a style name: 0, or CANTUS_EINVAL with the reason. */
int cantus_tokenizer_check_style_name(const char *name);
/* Sets the styles (and so the vocabulary's size) from such text; NULL or "" removes
 * them. CANTUS_EFORMAT naming the line if a name is bad or repeated, a setting does not
 * parse, or there are more than CANTUS_STYLES_MAX. */
int cantus_tokenizer_set_styles(cantus_tokenizer *tok, const char *text);
/* The styles as such text, into `out` (CANTUS_STYLES_MAX * CANTUS_STYLE_LINE_MAX bytes
 * are always enough); returns its length. */
size_t cantus_tokenizer_styles_text(const cantus_tokenizer *tok, char *out, size_t size);
int cantus_tokenizer_n_styles(const cantus_tokenizer *tok);
/* The name of style k, "" if there is none. */
const char *cantus_tokenizer_style_name(const cantus_tokenizer *tok, int k);
/* The index of the style called `name`, -1 if the vocabulary has none by that name. */
int cantus_tokenizer_style_index(const cantus_tokenizer *tok, const char *name);
/* How the pieces of style k were tokenized (the defaults for k outside 0..n_styles-1), and
 * setting it (CANTUS_EINVAL for a meter outside the vocabulary or a bad k). */
void cantus_tokenizer_style_settings(const cantus_tokenizer *tok, int k,
                                     cantus_style_settings *out);
int cantus_tokenizer_set_style_settings(cantus_tokenizer *tok, int k,
                                        const cantus_style_settings *settings);
/* The style of a piece from its instruments, for music that does not say (a prompt): drums
 * alone -> "drums"; violin, viola or cello (40-42) -> "quartet"; a voice (52-54) with a
 * piano (0-7) -> "lieder"; anything else -> "pop". */
const char *cantus_tokenizer_guess_style(const cantus_score *score);

/* The params as 32 little-endian bytes (8 fields of 4 bytes, in declaration order; floats
 * as IEEE-754 binary32), the form model and corpus files store. Unpacking checks them
 * (CANTUS_EFORMAT if they do not describe a vocabulary). */
#define CANTUS_TOKENIZER_PARAMS_BYTES 32
void cantus_tokenizer_params_pack(const cantus_tokenizer_params *params, uint8_t *out);
int cantus_tokenizer_params_unpack(cantus_tokenizer_params *params, const uint8_t *in);

/* Transposes the pitched notes of tokens[0..n) by `semitones` in place (drums and the
 * pitches before the first INST stay). Returns the transposition actually applied: the
 * request clamped so that every pitch stays within 0..127. */
int cantus_tokenizer_transpose(const cantus_tokenizer *tok, int32_t *tokens, size_t n,
                               int semitones);

/* ---- windows: the model's view of a piece from one of its bar lines ------------------
 * A piece longer than the model's context is read in windows. A window that starts at a
 * bar line is re-anchored as a piece starts: BOS [STYLE] BAR [TIMESIG] [POS_0 TEMPO], with
 * the piece's style and the meter and tempo in effect at that bar, then the rest of the
 * bar. In a vocabulary with the "@pedal-held" line (cantus_tokenizer_has_pedal_held), the
 * bar's first position also says which parts hold the sustain pedal down as the bar
 * starts: INST_p PEDAL_DOWN for each, merged into the bar's own notes at POS_0 in part
 * order (a part that moves its pedal there says so itself), so that the model knows a
 * pedal put down bars ago, before the window, is still down. Not in the accompaniment
 * layout (a piece with FILL), whose halves keep their own parts. Generation, training
 * (cantus_bar_windows, the default of `cantus train`) and `cantus eval` build their
 * windows this way, so the model sees at position 0 what it will be given. */
#define CANTUS_ANCHOR_MAX 96 /* room for an anchor (BOS STYLE FROM_BAR_k BAR TIMESIG POS_0
                                TEMPO, and the held pedals merged into the bar's POS_0) */
#define CANTUS_ANCHOR_HELD_MAX 8 /* the most parts whose held pedal an anchor says */

/* The most tokens an anchor adds to the window over the piece's own from its bar line
 * (the anchor's length less the tokens of the piece it stands for): 7 with styles and bar
 * positions, one less without bar positions, two less without styles (the budget
 * generation and eval leave for it, as before styles existed), and 2 more for each part
 * whose held pedal it may say (CANTUS_ANCHOR_HELD_MAX) with "@pedal-held". */
size_t cantus_tokenizer_anchor_max(const cantus_tokenizer *tok);

/* ---- bar positions: where in its piece a window starts --------------------------------
 * In a vocabulary with bar positions (a corpus made with `cantus dataset --bar-positions`),
 * a window that starts at bar b > 1 of its piece says so after its style: FROM_BAR_k,
 * where k is the first bar of b's bucket (2, 5, 9, 17, 33 or 65: 2-4, 5-8, ..., 65 on). A
 * piece's own start has none. So the model can tell a song's start (an intro) from its
 * middle, and generation can ask for either. */
#define CANTUS_FROM_BUCKETS 6

/* 1 if the vocabulary has bar positions. */
int cantus_tokenizer_has_bar_positions(const cantus_tokenizer *tok);
/* The FROM value of a window starting at bar `bar` (from 1) of its piece: -1 for bar 1, or
 * without bar positions. */
int cantus_tokenizer_from_value(const cantus_tokenizer *tok, int64_t bar);
/* The first bar of FROM value `v`'s bucket (2, 5, 9, 17, 33, 65); 1 for v < 0. */
int cantus_tokenizer_from_first_bar(int v);

/* ---- the sustain pedal -------------------------------------------------------------
 * In a vocabulary with the pedal (a corpus made with `cantus dataset --pedal`), each
 * part's sustain pedal (controller 64 on the part's channel, down at 64 and above) is
 * written as PEDAL tokens where it moves, at the nearest note onset of its channel within
 * two grid steps, else at its own step (a pianist changes the pedal just before or after
 * the chord it is for): PEDAL_DOWN, PEDAL_UP, or PEDAL_CHANGE where it comes up and goes
 * down again within one step (a change of pedal: the notes it held stop, the notes being
 * played are held). A note's DUR is how long its key was held, or the shortest (of a step
 * or more) that sounds the same: a key let go while the pedal is down sounds until the
 * pedal comes up however long it was held, so that length is not said twice. Decoding
 * writes the controller and folds it into the notes, as reading a file does, each key
 * the pedal holds on let go as late as a DUR can say before its note stops (a piano roll
 * shows notes, not slivers; it sounds the same). Without the pedal, DUR is the note's
 * length with the pedal folded in. */
enum { CANTUS_PEDAL_UP = 0, CANTUS_PEDAL_DOWN = 1, CANTUS_PEDAL_CHANGE = 2, CANTUS_PEDAL_VALUES = 3 };

/* 1 if the vocabulary has the pedal. */
int cantus_tokenizer_has_pedal(const cantus_tokenizer *tok);
/* 1 if its windows' anchors also say which parts hold the pedal down (the "@pedal-held"
 * line of its styles, which `cantus dataset --pedal` writes; a vocabulary with the pedal
 * and without it anchors as before it existed). */
int cantus_tokenizer_has_pedal_held(const cantus_tokenizer *tok);

/* The anchor of the bar at seq[bar] (a BAR token): writes it to `out` (room for
 * CANTUS_ANCHOR_MAX ids) and returns its length. The style, meter, tempo and held pedals
 * are found by looking back from the bar to the piece's BOS (or seq[0]). `*resume` is the
 * index in seq from which the window goes on after the anchor (past the BAR, a TIMESIG of
 * that bar, and the tokens of its POS_0 the anchor already holds). */
size_t cantus_tokenizer_anchor(const cantus_tokenizer *tok, const int32_t *seq, size_t n,
                               size_t bar, int32_t *out, size_t *resume);
/* 1 when the first position of the bar at seq[bar] has ended within seq[0..n): a later POS,
 * the next BAR, FILL, EOS or BOS follows it. An anchor is for such a bar: it writes a
 * position 0 of its own, into which a sequence still being written could not go on. (It
 * says no held pedals for a bar whose first position has not ended.) */
int cantus_tokenizer_first_position_ended(const cantus_tokenizer *tok, const int32_t *seq,
                                          size_t n, size_t bar);

/* ---- corpora: many pieces tokenized into one file (cantus dataset) ------------------
 * A versioned binary file, memory-mapped when read: token ids (uint16), a table of
 * documents (first token, token count, note count, source name) and the tokenizer
 * params. Each document starts with BOS and ends with EOS. The layout is in corpus.c. */
typedef struct cantus_corpus cantus_corpus;

typedef struct cantus_corpus_doc {
    uint64_t start;    /* index of its first token */
    uint64_t count;    /* its number of tokens */
    uint64_t notes;    /* notes in the source (after tokenization) */
    const char *name;  /* the source file, as given */
} cantus_corpus_doc;

/* Opens and checks a corpus file (every offset and count against the file's size). */
int cantus_corpus_open(cantus_corpus **out, const char *path);
/* The meter the corpus was tokenized with (--meter of cantus dataset), 0/0 if the files'
 * own. */
void cantus_corpus_meter(const cantus_corpus *corpus, int *numerator, int *denominator);
void cantus_corpus_free(cantus_corpus *corpus);
const cantus_tokenizer_params *cantus_corpus_tokenizer_params(const cantus_corpus *corpus);
/* The part names of the pieces (see cantus_tokenizer_set_part_names), "" if none. */
const char *cantus_corpus_part_names(const cantus_corpus *corpus);
/* The styles of the corpus's vocabulary (see cantus_tokenizer_set_styles), "" if none. */
const char *cantus_corpus_styles(const cantus_corpus *corpus);
/* A tokenizer for the corpus: its params, styles and part names. */
int cantus_corpus_tokenizer(const cantus_corpus *corpus, cantus_tokenizer **out);
size_t cantus_corpus_n_tokens(const cantus_corpus *corpus);
const uint16_t *cantus_corpus_tokens(const cantus_corpus *corpus); /* (n_tokens,) */
size_t cantus_corpus_n_docs(const cantus_corpus *corpus);
int cantus_corpus_get_doc(const cantus_corpus *corpus, size_t index, cantus_corpus_doc *doc);

/* Building a corpus: add documents, then finish (written atomically). */
typedef struct cantus_corpus_writer cantus_corpus_writer;
int cantus_corpus_writer_new(cantus_corpus_writer **out, const cantus_tokenizer_params *params);
/* Counts the parts (cantus_tokenizer_note_parts) of one piece of style `style` (-1: none)
 * and their track names: the corpus's part names are, for each part, the name that most of
 * the pieces using it give it, when at least half of them do (cleaned: a name in capitals
 * is written as words, POP909's MELODY as "Melody"); and each style's `parts` setting,
 * written with the corpus, lists the parts at least one in twenty of its pieces play, with
 * the name most of them give it (so "Melody" names pop's first piano, not the lieder's). */
int cantus_corpus_writer_count_names(cantus_corpus_writer *w, const cantus_score *score,
                                     int style);
/* Sets the styles of the corpus's vocabulary (cantus_tokenizer_set_styles), before any
 * piece is added. */
int cantus_corpus_writer_set_styles(cantus_corpus_writer *w, const char *text);
/* Records the meter forced when tokenizing (0/0: the files' own). */
void cantus_corpus_writer_set_meter(cantus_corpus_writer *w, int numerator, int denominator);
int cantus_corpus_writer_add(cantus_corpus_writer *w, const char *name, const int32_t *tokens,
                             size_t n_tokens, size_t n_notes);
int cantus_corpus_writer_save(cantus_corpus_writer *w, const char *path);
void cantus_corpus_writer_free(cantus_corpus_writer *w);

/* ---- the grammar: which tokens may come next ---------------------------------------
 * The same state machine the decoder uses; a sampler masks everything it forbids, so any
 * sampled sequence decodes. */
enum cantus_grammar_state {
    CANTUS_G_BEGIN,   /* nothing yet: BOS */
    CANTUS_G_PIECE,   /* after BOS: STYLE (once), FROM_BAR (once, after STYLE), BAR or EOS */
    CANTUS_G_BAR,     /* after BAR: TIMESIG, POS, BAR, EOS (and FILL, as after TIMESIG,
                         TEMPO and DUR, once a bar) */
    CANTUS_G_TIMESIG, /* after TIMESIG: POS, BAR, EOS */
    CANTUS_G_POS,     /* after POS: TEMPO (before a FILL) or INST */
    CANTUS_G_TEMPO,   /* after TEMPO: INST, a later POS, BAR, EOS */
    CANTUS_G_INST,    /* after INST: PITCH, or PEDAL (a pitched part) */
    CANTUS_G_PITCH,   /* after PITCH: VEL */
    CANTUS_G_VEL,     /* after VEL: DUR */
    CANTUS_G_NOTE,    /* after DUR: a higher PITCH, a later INST, a later POS, BAR, EOS;
                         after PEDAL the same (any PITCH) */
    CANTUS_G_FILL,    /* after FILL: POS, BAR, EOS */
    CANTUS_G_END,     /* after EOS: nothing */
};

typedef struct cantus_grammar {
    const cantus_tokenizer *tok;
    int state;          /* enum cantus_grammar_state */
    int bar_steps;      /* length of the current bar, grid steps */
    int pos;            /* current position in the bar, -1 before the first */
    int inst;           /* current part (INST value), -1 if none at this position */
    int last_pitch;     /* last pitch at this position and part, -1 if none */
    int64_t bars;       /* BAR tokens seen */
    int style;          /* the piece's style (STYLE value), -1 if none */
    int ended;          /* EOS seen */
    int filled;         /* FILL seen in this bar: no second FILL, no TEMPO */
    int from;           /* the piece's FROM_BAR value (where the window starts), -1 if none */
} cantus_grammar;

void cantus_grammar_init(cantus_grammar *g, const cantus_tokenizer *tok);
/* 1 if `id` may come next. */
int cantus_grammar_allows(const cantus_grammar *g, int32_t id);
/* Sets allowed[i] = 1 or 0 for every id of the vocabulary. */
void cantus_grammar_mask(const cantus_grammar *g, uint8_t *allowed);
/* Advances past `id`; CANTUS_ESTATE (state unchanged) if it is not allowed. */
int cantus_grammar_accept(cantus_grammar *g, int32_t id);

#ifdef __cplusplus
}
#endif
#endif
