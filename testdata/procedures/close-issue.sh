#!/bin/sh
# A runnable stand-in for the seed's close-issue procedure: it "fixes" an issue, writing the code
# change and the PR description into an output directory, and fails like the real one when the
# issue cannot be closed.
#
#   close-issue.sh ISSUE_NUMBER [OUTPUT_DIR]
#
# Run it under mltrack the way the seed tracked it:
#   mltrack -e procedures -p procedure_name=close-issue -p issue_number=123 -o out -- \
#       testdata/procedures/close-issue.sh 123 out
set -eu
issue=${1:?usage: close-issue.sh ISSUE_NUMBER [OUTPUT_DIR]}
out=${2:-out}
mkdir -p "$out"
echo "step 1/3: reading issue #$issue"
case $issue in
  *[!0-9]*|'') echo "error: issue number must be numeric, got '$issue'" >&2; exit 2 ;;
esac
if [ "$issue" -eq 0 ]; then
  echo "error: issue #0 does not exist" >&2
  exit 1
fi
echo "step 2/3: writing the change"
cat > "$out/changes.diff" <<DIFF
--- a/src/handler.py
+++ b/src/handler.py
@@ -10,7 +10,7 @@
-    return items[0]
+    return items[0] if items else None  # fixes #$issue
DIFF
echo "step 3/3: writing the PR description"
cat > "$out/pr-description.md" <<PR
# Fix #$issue: handle empty input

Closes #$issue.
PR
echo "closed issue #$issue"
