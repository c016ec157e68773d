#!/bin/bash
# Links one style's held-out or training files into a directory, by each dataset's own
# held-out rule (its README): POP909, OpenScore Lieder and Quartets hold out the files whose
# number ends in 0; Groove holds out the rows of info.csv whose split is "test".
#   scripts/style-files.sh held-out|training STYLE OUT_DIR
# STYLE: pop, drums, lieder or quartet. "training" is every file not held out, except for
# the drums: Groove's "train" split (its "validation" rows are trained on too, but the
# card's drum studies compare with the train split alone). DATA (default ../shared/data)
# may be set. Used by scripts/model-card-v2.sh (held-out) and for the sampling studies
# (training: scripts/sampling-study.sh STYLE OUT_DIR ...). Prints how many it linked.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 held-out|training STYLE OUT_DIR" >&2; exit 2; }
WHICH=$1 STYLE=$2 OUT=$3
DATA=${DATA:-$(dirname "$0")/../../shared/data}
case "$WHICH" in held-out | training) ;; *) echo "$0: '$WHICH' is neither held-out nor training" >&2; exit 2 ;; esac
case "$STYLE" in
pop) dir=$DATA/pop909 ;;
lieder) dir=$DATA/openscore-lieder ;;
quartet) dir=$DATA/openscore-quartets ;;
drums) dir=$DATA/groove ;;
*) echo "$0: no style '$STYLE' (pop, drums, lieder, quartet)" >&2; exit 2 ;;
esac
if [ "$STYLE" = drums ]; then
    [ -f "$dir/info.csv" ] || { echo "$0: no $dir/info.csv" >&2; exit 1; }
else
    [ -d "$dir" ] || { echo "$0: no $dir" >&2; exit 1; }
fi
dir=$(realpath "$dir")
files=() names=()
if [ "$STYLE" = drums ]; then
    split=test; [ "$WHICH" = training ] && split=train
    # info.csv's header names the columns (midi_filename, split); CRLF lines read the same
    while IFS= read -r f; do
        [ "$f" != "?" ] || { echo "$0: $dir/info.csv has no midi_filename and split columns" >&2; exit 1; }
        [ -f "$dir/$f" ] || { echo "$0: $dir/info.csv lists $f, which is missing" >&2; exit 1; }
        files+=("$dir/$f") names+=("${f//\//_}")
    done < <(awk -F, -v s="$split" '{ sub(/\r$/, "") }
        NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "midi_filename") m = i; if ($i == "split") k = i }
                  if (!m || !k) { print "?"; exit } next }
        $k == s { print $m }' "$dir/info.csv")
else
    shopt -s nullglob
    for f in "$dir"/*.mid; do
        case "$f" in *0.mid) held=1 ;; *) held=0 ;; esac
        if [ "$WHICH" = held-out ]; then [ $held = 1 ] || continue; else [ $held = 0 ] || continue; fi
        files+=("$f")
    done
fi
[ ${#files[@]} -gt 0 ] || { echo "$0: no $WHICH $STYLE files in $dir" >&2; exit 1; }
mkdir -p "$OUT"
if [ "$STYLE" = drums ]; then
    for i in "${!files[@]}"; do ln -sf "${files[$i]}" "$OUT/${names[$i]}"; done
else
    ln -sf "${files[@]}" "$OUT/"
fi
echo "$WHICH $STYLE: ${#files[@]} files linked in $OUT"
