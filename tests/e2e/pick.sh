#!/bin/bash
# ckptctl pick on the worked example, in every form a trainer writes it.
. "$(dirname "$0")/lib.bash"
CSV="$ROOT/examples/clinic07/metrics.csv"

run "$CTL" pick --by val_sensitivity:max "$CSV"
eq "clinic: exit 0" "$rc" 0
eq "clinic: first two lines" "$(printf '%s\n' "$out" | head -n 2)" \
"selected_epoch: 8
selection_metric: val_sensitivity (max)"
has "clinic: says why not epoch 15" "15" "$(printf '%s\n' "$out" | sed -n '/why:/,$p')"
has "clinic: overfitting onset named" "overfitting from epoch 9" "$out"

run "$CTL" pick --by val_sensitivity:max --json "$CSV"
eq "clinic json: selected" "$(jval "$out" selected)" 8
eq "clinic json: last" "$(jval "$out" last)" 15
eq "clinic json: mode" "$(jval "$out" mode)" '"max"'
eq "clinic json: value" "$(jval "$out" value)" 0.79

# the mode is inferred from the name
run "$CTL" pick --by val_sensitivity "$CSV"
eq "clinic: inferred max" "$(printf '%s\n' "$out" | sed -n 2p)" "selection_metric: val_sensitivity (max)"

run "$CTL" pick --by val_loss:min --stop val_loss:min --patience 3 --json "$CSV"
eq "early stop: selected" "$(jval "$out" selected)" 8
eq "early stop: stop_at" "$(jval "$out" stop_at)" 11
eq "early stop: best" "$(jval "$out" best)" 8

run "$CTL" pick --by val_loss:min --stop val_loss:min --patience 3 "$CSV"
has "early stop text" "early_stop: after epoch 11" "$out"

# default --by is val_loss:min
run "$CTL" pick "$CSV"
eq "default by" "$(printf '%s\n' "$out" | sed -n 2p)" "selection_metric: val_loss (min)"

# --- the same table as Lightning's CSVLogger writes it: train and val rows
# separate per epoch, a step column, empty cells
awk -F, 'NR == 1 { print "epoch,step,train_loss,val_accuracy,val_loss,val_sensitivity,val_specificity"; next }
	{ s = $1 * 100 - 1
	  printf "%s,%d,%s,,,,\n", $1, s, $2
	  printf "%s,%d,,%s,%s,%s,%s\n", $1, s, $4, $3, $5, $6 }' "$CSV" >"$T/lightning.csv"
run "$CTL" pick --by val_sensitivity:max --stop val_loss --patience 3 --json "$T/lightning.csv"
eq "lightning csv: selected" "$(jval "$out" selected)" 8
eq "lightning csv: stop_at" "$(jval "$out" stop_at)" 11
eq "lightning csv: last" "$(jval "$out" last)" 15
run "$CTL" pick --by val_sensitivity:max "$T/lightning.csv"
eq "lightning csv: text" "$(printf '%s\n' "$out" | head -n 1)" "selected_epoch: 8"

# --key step on the Lightning log: the val row of epoch 8 is step 799
run "$CTL" pick --key step --by val_sensitivity:max "$T/lightning.csv"
eq "lightning csv by step" "$(printf '%s\n' "$out" | head -n 1)" "selected_step: 799"

# --- as JSONL, with a NaN epoch whose raw values would win
awk -F, 'NR > 1 { printf "{\"epoch\": %s, \"train_loss\": %s, \"val_loss\": %s, \"val_accuracy\": %s, \"val_sensitivity\": %s, \"val_specificity\": %s}\n", $1, $2, $3, $4, $5, $6 }' \
	"$CSV" >"$T/metrics.jsonl"
echo '{"epoch": 16, "train_loss": 0.07, "val_loss": NaN, "val_accuracy": NaN, "val_sensitivity": Infinity, "val_specificity": NaN}' >>"$T/metrics.jsonl"
run "$CTL" pick --by val_sensitivity:max --stop val_loss --patience 3 --json "$T/metrics.jsonl"
eq "jsonl: selected (NaN epoch never best)" "$(jval "$out" selected)" 8
eq "jsonl: stop_at" "$(jval "$out" stop_at)" 11
eq "jsonl: last is the NaN epoch" "$(jval "$out" last)" 16
run "$CTL" pick --by val_loss "$T/metrics.jsonl"
eq "jsonl: by val_loss" "$(printf '%s\n' "$out" | head -n 1)" "selected_epoch: 8"

# zstd-compressed logs are read by streaming
if command -v zstd >/dev/null; then
	zstd -q -o "$T/metrics.jsonl.zst" "$T/metrics.jsonl" && zstd -q -o "$T/clinic.csv.zst" "$CSV"
	run "$CTL" pick --by val_sensitivity "$T/metrics.jsonl.zst"
	eq "jsonl.zst" "$(printf '%s\n' "$out" | head -n 1)" "selected_epoch: 8"
	run "$CTL" pick --by val_sensitivity "$T/clinic.csv.zst"
	eq "csv.zst" "$(printf '%s\n' "$out" | head -n 1)" "selected_epoch: 8"
fi

# --- criteria that disagree: within 0.005 of the best val_loss, the most
# sensitive epoch wins
cat >"$T/disagree.csv" <<'CSV'
epoch,val_loss,val_sensitivity
1,0.500,0.70
2,0.480,0.72
3,0.483,0.80
4,0.490,0.85
5,0.484,0.79
CSV
run "$CTL" pick --by val_loss:min@0.005 --by val_sensitivity:max "$T/disagree.csv"
eq "disagree: tolerance band" "$(printf '%s\n' "$out" | head -n 1)" "selected_epoch: 3"
run "$CTL" pick --by val_loss:min "$T/disagree.csv"
eq "disagree: val_loss alone" "$(printf '%s\n' "$out" | head -n 1)" "selected_epoch: 2"
run "$CTL" pick --by val_loss:min --require 'val_sensitivity>=0.75' "$T/disagree.csv"
eq "require bound" "$(printf '%s\n' "$out" | head -n 1)" "selected_epoch: 3"

# --- exit codes
expect_rc "missing file: 66" 66 "$CTL" pick "$T/nope.csv"
expect_rc "bad flag: 64" 64 "$CTL" pick --bogus "$CSV"
expect_rc "bad --by: 64" 64 "$CTL" pick --by "weird_metric" "$CSV"
expect_rc "patience without stop: 64" 64 "$CTL" pick --patience 3 "$CSV"
expect_rc "nothing selectable: 65" 65 "$CTL" pick --by val_nope:min "$CSV"
has "nothing selectable says why" "val_nope is not logged" "$err"
expect_rc "require excludes all: 65" 65 "$CTL" pick --require 'val_sensitivity>=0.99' "$CSV"
printf 'epoch,val_loss\n' >"$T/header-only.csv"
expect_rc "header-only log: 65" 65 "$CTL" pick "$T/header-only.csv"

done_testing
