#!/bin/bash
# The training corpus of the v2 model (issue 12): four styles, every held-out file left out.
#   bash scripts/make-v2-corpus.sh [OUT.corpus]     (default v2-train.corpus)
# CANTUS (default build/cantus) and DATA (default ../shared/data) may be set; BAR_POSITIONS=1
# adds --bar-positions (windows that start mid-piece say where: the v3 model); PEDAL=1 adds
# --pedal (the shipped model's corpus), and NO_PEDAL_HELD=1 --no-pedal-held (v9's and v10's,
# made before the "@pedal-held" line existed).
#
# - pop: POP909 (MIT), all but the songs whose number is divisible by 10; --meter 4/4 as
#   for the shipped model (its time signatures are unreliable).
# - drums: the Groove MIDI Dataset (CC BY 4.0: credit it), all but the rows of info.csv
#   whose split is "test". It was played on a Roland TD-11 kit: --drum-kit drums=td makes
#   the kit's 22, 26 and 58 General MIDI's 42, 46 and 43 in every file (on its own the
#   cleaning reads a part as the TD kit only when it plays 22 or 26, and leaves the 58 of
#   57 training files that do not as General MIDI's vibraslap).
# - lieder: OpenScore Lieder (CC0), all but the scores whose number ends in 0. MuseScore
#   wrote the voice as Oboe (68) or Choir Aahs (52) without a track name to say so:
#   --sung lieder=68,52 makes those parts Voice Oohs.
# - quartet: OpenScore Quartets (CC0), all but the scores whose number ends in 0.
# - accompaniment: every pop piece is written a second time giving its melody (part 0, the
#   first piano part: POP909's MELODY track) ahead of each bar, and every lieder piece
#   giving its voice (53), so that the model learns to write the other parts around a
#   given one (cantus accompany).
# The '*0.mid' exclusion is POP909's, the Lieder's and the Quartets' held-out rule at once
# (their file names end in the number); no Groove file name ends in 0.
set -euo pipefail
CANTUS=${CANTUS:-build/cantus}
DATA=${DATA:-../shared/data}
OUT=${1:-v2-train.corpus}

groove_test=()
while IFS= read -r file; do
    groove_test+=(--exclude "*/groove/$file")
done < <(awk -F, 'NR > 1 && $11 == "test" { print $8 }' "$DATA/groove/info.csv")
[ "${#groove_test[@]}" -eq 258 ] || { echo "expected Groove's 129 test files in info.csv" >&2; exit 1; }

"$CANTUS" dataset "$DATA/pop909:pop" "$DATA/groove:drums" "$DATA/openscore-lieder:lieder" \
    "$DATA/openscore-quartets:quartet" --exclude '*0.mid' "${groove_test[@]}" \
    --meter pop=4/4 --drum-kit drums=td --sung lieder=68,52 \
    --accompany pop=0 --accompany lieder=53 ${BAR_POSITIONS:+--bar-positions} ${PEDAL:+--pedal} ${NO_PEDAL_HELD:+--no-pedal-held} -o "$OUT"
