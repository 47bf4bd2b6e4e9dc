#!/bin/bash
# ckptctl check: every config error class exits 78 and names FILE:LINE:COLUMN.
. "$(dirname "$0")/lib.bash"

BASE='runs:
  - name: a
    dir: /tmp/x
    metrics:
      path: m.csv
    checkpoints:
      pattern: "e={epoch}.ckpt"'

# case NAME WHERE TEXT-IN-MESSAGE: checks $T/NAME.yaml
case_err() {
	local f="$T/$1.yaml"
	run "$CTL" check -c "$f"
	eq "$1: exit 78" "$rc" 78
	has "$1: located at $2" "$f:$2: error: $3" "$err"
}

printf '%s\n' "$BASE" >"$T/ok.yaml"
expect_rc "valid config: exit 0" 0 "$CTL" check -c "$T/ok.yaml"
eq "valid config prints only ok" "$out" "ok"

printf '%s\n' "$BASE" '    early_stop:' '      metric: val_loss' '      patiance: 3' >"$T/unknown.yaml"
case_err unknown 10:7 "unknown key 'patiance'"
has "unknown key: did you mean" "did you mean 'patience'?" "$err"

printf '%s\n' "$BASE" '    retain:' '      best: many' >"$T/type.yaml"
case_err type 9:13 "best must be an integer"

printf '%s\n' "$BASE" '    retain:' '      level: 40' >"$T/range.yaml"
case_err range 9:14 "level must be between 1 and 19"

printf '%s\n' "$BASE" '    early_stop:' '      metric: val_loss' '      patience: -1' >"$T/range2.yaml"
case_err range2 10:17 "patience"

printf '%s\n' "$BASE" '  - name: a' '    dir: /tmp/y' '    metrics: {path: m.csv}' \
	'    checkpoints: {pattern: "e={epoch}.ckpt"}' >"$T/dupname.yaml"
case_err dupname 8:11 "duplicate run name 'a'"

printf '%s\n' "$BASE" '    metrics:' '      path: n.csv' >"$T/dupkey.yaml"
case_err dupkey 8:5 "duplicate key 'metrics'"

printf '%s\n' "$BASE" | sed 's|dir: /tmp/x|dir: rel/x|' >"$T/reldir.yaml"
case_err reldir 3:10 "dir must be an absolute path"

printf '%s\n' "$BASE" | sed 's|e={epoch}.ckpt|ckpt_{step}.pt|' >"$T/pattern.yaml"
case_err pattern 7:16 "pattern has no {epoch}"

printf '%s\n' "$BASE" '    promote:' '      method: copy' >"$T/copy.yaml"
case_err copy 9:15 "method copy needs 'to'"

printf '%s\n' "$BASE" '    select:' '      by:' '        - {metric: foo}' >"$T/mode.yaml"
case_err mode 10:20 "cannot tell whether 'foo' is better low or high"

printf '%s\n' "$BASE" '    alerts:' '      stall: 5x' >"$T/duration.yaml"
case_err duration 9:14 "stall must be a duration"

printf '%s\n' "$BASE" '    promote:' '      method: symlnk' >"$T/enum.yaml"
case_err enum 9:15 "method must be symlink, hardlink or copy, got 'symlnk'"

printf '%s\n' "$BASE" | sed 's|name: a|name: "bad name!"|' >"$T/name.yaml"
case_err name 2:11 "run name 'bad name!'"

printf '%s\n' "$BASE" | sed 's|name: a|name: ".."|' >"$T/dotdot.yaml"
case_err dotdot 2:11 "run name '..' must be"

printf '%s\n' "$BASE" '    early_stop:' '      metric: val_loss' '      action: {signal: TERM}' >"$T/signal.yaml"
case_err signal 10:24 "signal needs a pidfile"

printf '%s\n' 'runs:' '  - name: a' '    dir: /tmp/x' '    metrics: {path: m.csv}' \
	'    checkpoints: {path: ckpts}' >"$T/required.yaml"
case_err required 5:18 "missing required key 'pattern' in checkpoints"

printf '%s\n' "$BASE" '      - [' >"$T/syntax.yaml"
case_err syntax 8:7 "did not find expected key"

: >"$T/empty.yaml"
case_err empty 1:1 "the file is empty"

echo '- 1' >"$T/list.yaml"
case_err list 1:1 "the configuration must be a mapping"

# several errors are reported in one pass
printf '%s\n' 'runs:' '  - name: a' '    dir: rel' '    metrics: {path: m.csv, key: epoc}' \
	'    checkpoints: {pattern: "e={epoch}.ckpt", ready: soon}' >"$T/many.yaml"
run "$CTL" check -c "$T/many.yaml"
eq "several errors: exit 78" "$rc" 78
eq "several errors: all three reported" "$(printf '%s\n' "$err" | grep -c ': error: ')" 3

expect_rc "missing config file: 78" 78 "$CTL" check -c "$T/nope.yaml"
has "missing config file named" "$T/nope.yaml" "$err"

# the shipped configs are valid
for f in "$ROOT"/config/ckptd.yaml "$ROOT"/config/examples/*.yaml; do
	expect_rc "shipped config $(basename "$f") passes check" 0 "$CTL" check -c "$f"
done

# pick from a run of a config: its log, its policy, its early stopping
mkdir -p "$T/clinic"
cp "$ROOT/examples/clinic07/metrics.csv" "$T/clinic/metrics.csv"
sed "s|/tmp/ckptd-demo/clinic07|$T/clinic|" "$ROOT/config/examples/clinic.yaml" >"$T/clinic.yaml"
run "$CTL" pick -c "$T/clinic.yaml" -r clinic07 --json
eq "pick -c -r: selected" "$(jval "$out" selected)" 8
eq "pick -c -r: stop_at from the run's early_stop" "$(jval "$out" stop_at)" 11
eq "pick -c -r: selection metric from the run" "$(jval "$out" selection_metric)" '"val_sensitivity"'
expect_rc "pick -r unknown run: 64" 64 "$CTL" pick -c "$T/clinic.yaml" -r nope
expect_rc "pick with a bad config: 78" 78 "$CTL" pick -c "$T/many.yaml" -r a

# Keras: CSVLogger logs epoch 0 for the file it names 1 (key_offset: 1)
mkdir -p "$T/keras"
awk -F, 'NR == 1 { print "epoch,loss,val_loss"; next } { print $1 - 1 "," $2 "," $3 }' \
	"$ROOT/examples/clinic07/metrics.csv" >"$T/keras/training.log"
sed -e "s|^\\( *dir:\\).*|\\1 $T/keras|" "$ROOT/config/examples/keras.yaml" >"$T/keras.yaml"
run "$CTL" pick -c "$T/keras.yaml" --by val_loss
eq "keras key_offset: reported in checkpoint numbering" "$(printf '%s\n' "$out" | head -n 1)" "selected_epoch: 8"

done_testing
