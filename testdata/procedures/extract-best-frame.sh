#!/bin/sh
# A runnable stand-in for the seed's extract-best-frame procedure: it "extracts" frames from a video
# (small generated PGM images, no external tools), scores them, and keeps the sharpest one.
#
#   extract-best-frame.sh VIDEO [FRAMES] [OUTPUT_DIR]
#
#   mltrack -e procedures -p procedure_name=extract-best-frame -p video=clip.mp4 -o frames -- \
#       testdata/procedures/extract-best-frame.sh clip.mp4 5 frames
set -eu
video=${1:?usage: extract-best-frame.sh VIDEO [FRAMES] [OUTPUT_DIR]}
frames=${2:-5}
out=${3:-frames}
if [ ! -e "$video" ]; then
  echo "error: video '$video' not found" >&2
  exit 3
fi
mkdir -p "$out"
best=0 best_score=-1
i=1
while [ "$i" -le "$frames" ]; do
  score=$(( (i * 37) % 101 ))
  {
    printf 'P2\n4 4\n255\n'
    for _ in 1 2 3 4; do printf '%d %d %d %d\n' "$score" 0 "$score" 0; done
  } > "$out/frame-$i.pgm"
  echo "frame $i: sharpness $score"
  if [ "$score" -gt "$best_score" ]; then best=$i best_score=$score; fi
  i=$((i + 1))
done
cp "$out/frame-$best.pgm" "$out/best-frame.pgm"
echo "best frame: $best (sharpness $best_score)"
