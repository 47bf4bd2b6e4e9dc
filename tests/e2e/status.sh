#!/bin/bash
# ckptctl status / pin / unpin against state the real daemon wrote: the
# clinic run driven epoch by epoch with `ckptd --once`, as in once.sh.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/clinic.bash"

# a listing of a tree with sizes and mtimes: equal before and after = untouched
snap() { (cd "$1" && find . -printf '%p %s %T@ %m\n' | sort); }
squash() { printf '%s' "$1" | tr -d ' \n'; }
# the text output with runs of spaces made one, so that checks do not
# depend on column widths (aligned() checks those)
words() { printf '%s\n' "$1" | tr -s ' '; }
# every line of a block has its value in one column: "  LABEL" padded to 16
aligned() { printf '%s\n' "$1" | grep '^ ' | grep -cvE '^  [a-z :]{14}[^ ]'; }

# --- the clinic run, plus a second run the daemon has not seen yet
config st delete "  - name: other" "    dir: $T/other" "    metrics: {path: metrics.csv}" \
	"    checkpoints: {pattern: \"epoch={epoch}.ckpt\"}"
run "$SIM" "$CSV" "$T/st" --after "$(after_once st)"
eq "setup: job stopped after epoch 11" "$out" "stopped after epoch 11"
rm -rf "$T/st-state/other"   # --once made it; "other" stands for a run not yet started

before=$(snap "$T/st-state")
expect_rc "status: exit 0" 0 "$CTL" status -c "$T/st.yaml" clinic07
text=$out
has "status: names the run" "clinic07" "$text"
has "status: promoted epoch 8" "promoted: epoch 8: epoch=8.ckpt (val_sensitivity 0.79)" "$(words "$text")"
has "status: promoted metrics listed" "val_loss 0.481" "$(words "$text")"
has "status: latest key and record count" "latest: epoch 11 (11 records)" "$(words "$text")"
has "status: early stop fired at 11" "early stop: fired after epoch 11: patience: no improvement of val_loss" "$(words "$text")"
has "status: one open alert" "alerts: 1 open" "$(words "$text")"
has "status: the degraded alert is listed" "degraded at epoch 10: val_loss 0.497 is 3.3% worse" "$text"
has "status: kept and pruned counts" "checkpoints: 3 kept, 8 pruned" "$(words "$text")"
has "status: keep reasons" "epoch=8.ckpt best,top" "$(words "$text")"
eq "status: pruned checkpoints are counted, not listed" "$(printf '%s\n' "$text" | grep -c 'epoch=10.ckpt')" 0
eq "status: aligned" "$(aligned "$text")" 0
has "status: no pins" "pins: none" "$(words "$text")"
has "status: updated_at shown" "updated:" "$text"

expect_rc "status --json: exit 0" 0 "$CTL" status -c "$T/st.yaml" clinic07 --json
json=$out
has "json: one object with runs" '"runs": [' "$json"
eq "json: promoted key 8" "$(printf '%s\n' "$json" | sed -n '/"promoted": {/,/}/p' | grep -m1 '"key"' | tr -d ' ,')" '"key":8'
has "json: promoted checkpoint" '"checkpoint": "epoch=8.ckpt"' "$json"
eq "json: promoted value" "$(jval "$json" value)" "0.79"
eq "json: early stop fired" "$(jval "$json" fired)" "true"
eq "json: early stop at 11" "$(jval "$json" stop_at)" "11"
eq "json: early stop reason" "$(jval "$json" reason)" '"patience"'
eq "json: one open alert" "$(jval "$json" open_alerts)" "1"
has "json: the alert is degraded" '"event": "degraded"' "$json"
eq "json: latest" "$(jval "$json" latest)" "11"
eq "json: records" "$(jval "$json" records)" "11"
eq "json: pruned count" "$(printf '%s\n' "$json" | sed -n 's/^ *"pruned": \([0-9]*\),$/\1/p')" "8"
has "json: pruned checkpoint marked" '"pruned": "delete"' "$json"
has "json: empty pins" '"pins":[]' "$(squash "$json")"

expect_rc "status of every run: exit 0" 0 "$CTL" status -c "$T/st.yaml"
has "all runs: the clinic block" "promoted: epoch 8" "$(words "$out")"
has "all runs: a run without state" "no state yet (has ckptd run?)" "$out"
expect_rc "all runs --json: exit 0" 0 "$CTL" status -c "$T/st.yaml" --json
has "json: a run without state is null" '"run":"other","state_dir":"'"$T"'/st-state/other","state":null' "$(squash "$out")"
eq "status left the state untouched" "$(snap "$T/st-state")" "$before"
eq "status did not create the other run's dir" "$(ls "$T/st-state")" "clinic07"

expect_rc "status: unknown run -> 64" 64 "$CTL" status -c "$T/st.yaml" nosuch
has "status: unknown run says so" "no run named 'nosuch'" "$err"
expect_rc "status: two runs named -> 64" 64 "$CTL" status -c "$T/st.yaml" clinic07 other
expect_rc "status: bad config -> 78" 78 "$CTL" status -c "$T/nosuch.yaml"

# a torn last line (a crash mid-append, or an append in progress) is read
# around, and left for the daemon to cut
printf '{"ts": "2026-01-01T00:00:00.000Z", "run": "clinic07", "event": "degr' >>"$T/st-state/clinic07/events.jsonl"
size=$(stat -c %s "$T/st-state/clinic07/events.jsonl")
expect_rc "torn events line: status still works" 0 "$CTL" status -c "$T/st.yaml" clinic07
has "torn events line: still one open alert" "alerts: 1 open" "$(words "$out")"
eq "torn events line: file not cut by status" "$(stat -c %s "$T/st-state/clinic07/events.jsonl")" "$size"

# --- no state dir at all: 66, and nothing is created
config none delete
expect_rc "no state dir: exit 66" 66 "$CTL" status -c "$T/none.yaml"
has "no state dir: says so" "does not exist" "$err"
eq "no state dir: not created" "$(ls -d "$T/none-state" 2>/dev/null)" ""
mkdir "$T/none-state"
expect_rc "no state yet: exit 0" 0 "$CTL" status -c "$T/none.yaml" clinic07
has "no state yet: says so" "no state yet (has ckptd run?)" "$out"
expect_rc "no state yet --json: exit 0" 0 "$CTL" status -c "$T/none.yaml" --json
has "no state yet --json: state null" '"state": null' "$out"
eq "no state yet: run dir not created" "$(ls -A "$T/none-state")" ""

# --- pins: set before the daemon ever ran, honoured by the next pruning
config pin delete
"$SIM" "$CSV" "$T/pin" >/dev/null   # 15 checkpoints on disk, no daemon yet
expect_rc "unpin with no state: exit 0" 0 "$CTL" unpin -c "$T/pin.yaml" clinic07 3
has "unpin with no state: not pinned" "not pinned" "$out"
eq "unpin with no state: creates nothing" "$(ls -d "$T/pin-state" 2>/dev/null)" ""
expect_rc "pin before the daemon ran: exit 0" 0 "$CTL" pin -c "$T/pin.yaml" clinic07 3
eq "pin: says so" "$out" "pinned clinic07 3"
eq "pin: state dir created 0700" "$(stat -c %a "$T/pin-state/clinic07")" 700
eq "pin: pins.json" "$(squash "$(cat "$T/pin-state/clinic07/pins.json")")" '{"pins":[3]}'
eq "pin: pins.json is 0600" "$(stat -c %a "$T/pin-state/clinic07/pins.json")" 600
expect_rc "pin 12: exit 0" 0 "$CTL" pin -c "$T/pin.yaml" clinic07 12
expect_rc "pin again: exit 0" 0 "$CTL" pin -c "$T/pin.yaml" clinic07 12
has "pin again: already pinned" "already pinned" "$out"
eq "pins are sorted, once each" "$(squash "$(cat "$T/pin-state/clinic07/pins.json")")" '{"pins":[3,12]}'
expect_rc "unpin: exit 0" 0 "$CTL" unpin -c "$T/pin.yaml" clinic07 12
eq "unpin: says so" "$out" "unpinned clinic07 12"
expect_rc "unpin a key not pinned: exit 0" 0 "$CTL" unpin -c "$T/pin.yaml" clinic07 12
has "unpin a key not pinned: says so" "not pinned" "$out"
eq "unpin: round trip" "$(squash "$(cat "$T/pin-state/clinic07/pins.json")")" '{"pins":[3]}'
expect_rc "status with pins only: exit 0" 0 "$CTL" status -c "$T/pin.yaml"
has "status with pins only: no state yet" "no state yet (has ckptd run?)" "$out"
has "status with pins only: shows the pin" "pins: 3" "$(words "$out")"

run "$CKPTD" -c "$T/pin.yaml" --once
eq "pin: ckptd --once exit 0" "$rc" 0
eq "pin: the pinned checkpoint survived pruning" "$(ls "$T/pin/checkpoints/epoch=3.ckpt" 2>/dev/null)" "$T/pin/checkpoints/epoch=3.ckpt"
eq "pin: its unpinned neighbour was pruned" "$(ls "$T/pin/checkpoints/epoch=4.ckpt" 2>/dev/null)" ""
has "pin: only the pinned and kept ones remain" "epoch=3.ckpt epoch=8.ckpt" "$(remaining pin)"
expect_rc "status after pinning: exit 0" 0 "$CTL" status -c "$T/pin.yaml" clinic07
has "status: the pinned checkpoint's reason" "epoch=3.ckpt pinned" "$(words "$out")"
has "status: the pin listed" "pins: 3" "$(words "$out")"
expect_rc "status --json after pinning: exit 0" 0 "$CTL" status -c "$T/pin.yaml" clinic07 --json
has "json: pins" '"pins":[3]' "$(squash "$out")"

# --- pin usage and failures
expect_rc "pin: unknown run -> 64" 64 "$CTL" pin -c "$T/pin.yaml" nosuch 3
expect_rc "unpin: unknown run -> 64" 64 "$CTL" unpin -c "$T/pin.yaml" nosuch 3
expect_rc "pin: negative key -> 64" 64 "$CTL" pin -c "$T/pin.yaml" clinic07 -1
expect_rc "pin: not a number -> 64" 64 "$CTL" pin -c "$T/pin.yaml" clinic07 3x
expect_rc "pin: missing key -> 64" 64 "$CTL" pin -c "$T/pin.yaml" clinic07
expect_rc "pin: bad config -> 78" 78 "$CTL" pin -c "$T/nosuch.yaml" clinic07 3
sed "s|^state_dir: .*|state_dir: $T/no/such/parent|" "$T/pin.yaml" >"$T/nocreate.yaml"
expect_rc "pin: state cannot be created -> 73" 73 "$CTL" pin -c "$T/nocreate.yaml" clinic07 3
echo '{"pins": [3, "x"]}' >"$T/pin-state/clinic07/pins.json"
expect_rc "pin: a damaged pins.json is refused, not overwritten" 65 "$CTL" pin -c "$T/pin.yaml" clinic07 4
eq "pin: damaged pins.json left as it was" "$(cat "$T/pin-state/clinic07/pins.json")" '{"pins": [3, "x"]}'

done_testing
