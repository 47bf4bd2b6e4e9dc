#!/bin/bash
# The real daemon following metric logs: resumed runs, Lightning rewrites,
# rotation, metrics and checkpoints landing in either order.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/clinic.bash"

# save NAME KEY: a checkpoint the way torch.save users write it (temp + rename)
save() {
	local ck="$T/$1/checkpoints"
	mkdir -p "$ck"
	head -c 4096 /dev/urandom >"$ck/.epoch=$2.ckpt.tmp" && mv "$ck/.epoch=$2.ckpt.tmp" "$ck/epoch=$2.ckpt"
}
# lrify: a Lightning rewrite's table: an "lr" column inserted after epoch
lrify() { awk -F, -v OFS=, '{ $2 = (NR == 1 ? "lr" : "0.001") OFS $2; print }' "$@"; }
# clinic_end NAME LABEL: the decisions of an uninterrupted clinic run
clinic_end() {
	settle "$1"
	eq "$2: best.ckpt -> epoch=8.ckpt" "$(best "$1")" "epoch=8.ckpt"
	eq "$2: exactly epochs 8, 9 and 11 remain" "$(remaining "$1")" "epoch=8.ckpt epoch=9.ckpt epoch=11.ckpt "
	eq "$2: one early_stop, one degraded" "$(count_events "$1" early_stop) $(count_events "$1" degraded)" "1 1"
	eq "$2: no key promoted or pruned twice" "$(dup_keys "$1" promoted)|$(dup_keys "$1" pruned)" "|"
	eq "$2: 8 pruned" "$(count_events "$1" pruned)" 8
	eq "$2: 11 records" "$(jval "$(cat "$(state "$1")")" records)" 11
}

# --- a resumed run: epochs 1..6, then again from 4 with other values; the
# later values win and the selection follows them
config_plain res delete
start res
echo "epoch,val_loss,val_sensitivity" >"$T/res/metrics.csv"
step() { echo "$2,0.50,$3" >>"$T/res/metrics.csv"; save res "$2"; }
for r in 1:0.50 2:0.55 3:0.60 4:0.65 5:0.70 6:0.75; do
	k=${r%%:*}
	step res "$k" "${r#*:}"
	wait_until 10 '[ "$(best res)" = epoch=$k.ckpt ]'
done
settle res
eq "resume: first run: best epoch 6" "$(best res)" "epoch=6.ckpt"
step res 4 0.60; settle res
step res 5 0.62; settle res
eq "resume: the first run's epoch 6 is still the best" "$(best res)" "epoch=6.ckpt"
step res 6 0.61
wait_until 10 '[ "$(best res)" = epoch=5.ckpt ]'
eq "resume: the resumed epoch 6 (0.61) replaces the old (0.75): best 5" "$(best res)" "epoch=5.ckpt"
step res 7 0.63
wait_until 10 '[ "$(best res)" = epoch=7.ckpt ]'
step res 8 0.64
wait_until 10 '[ "$(best res)" = epoch=8.ckpt ]'
settle res
eq "resume: best.ckpt -> epoch=8.ckpt" "$(best res)" "epoch=8.ckpt"
eq "resume: promoted value is the new one" "$(jval "$(cat "$(state res)")" value)" 0.64
eq "resume: 7 and 8 remain" "$(remaining res)" "epoch=7.ckpt epoch=8.ckpt "
eq "resume: promotions follow the values" "$(keys_of res promoted)" "1 2 3 4 5 6 5 7 8 "
stop

# --- Lightning rewrites metrics.csv from the start, in place (same inode),
# with a new header holding an extra column
config ltn delete
start ltn
run "$SIM" "$(seg 1 5)" "$T/ltn" --after "$(after ltn)"
settle ltn
n=$(events ltn | wc -l)
ino=$(stat -c %i "$T/ltn/metrics.csv")
lrify "$T/ltn/metrics.csv" >"$T/ltn.tmp" && cat "$T/ltn.tmp" >"$T/ltn/metrics.csv"
eq "rewrite: same inode" "$(stat -c %i "$T/ltn/metrics.csv")" "$ino"
settle ltn
eq "rewrite: re-reading the log takes no action" "$(events ltn | wc -l)" "$n"
eq "rewrite: best.ckpt still epoch 5" "$(best ltn)" "epoch=5.ckpt"
lrify "$(seg 6 15)" >"$T/seg.lr.csv"
run "$SIM" "$T/seg.lr.csv" "$T/ltn" --after "$(after ltn)"
eq "rewrite: job stopped after epoch 11" "$out" "stopped after epoch 11"
clinic_end ltn rewrite
eq "rewrite: promotions to 1..8, each once" "$(keys_of ltn promoted)" "1 2 3 4 5 6 7 8 "
stop

# --- a rotated log: mv metrics.csv metrics.csv.1, a new one with a header
config rot delete
start rot
run "$SIM" "$(seg 1 5)" "$T/rot" --after "$(after rot)"
mv "$T/rot/metrics.csv" "$T/rot/metrics.csv.1"
run "$SIM" "$(seg 6 15)" "$T/rot" --after "$(after rot)"
eq "rotate: job stopped after epoch 11" "$out" "stopped after epoch 11"
clinic_end rot rotate
eq "rotate: promotions to 1..8, each once" "$(keys_of rot promoted)" "1 2 3 4 5 6 7 8 "
stop

# the same, rotated right after a row was appended (the daemon may not have
# read it yet): that row is not lost
config rot2 delete
start rot2
run "$SIM" "$(seg 1 4)" "$T/rot2" --after "$(after rot2)"
run "$SIM" "$(seg 5 5)" "$T/rot2"
mv "$T/rot2/metrics.csv" "$T/rot2/metrics.csv.1"
run "$SIM" "$(seg 6 15)" "$T/rot2" --after "$(after rot2)"
eq "rotate at once: job stopped after epoch 11" "$out" "stopped after epoch 11"
clinic_end rot2 "rotate at once"
stop

# after a rotation the old file's records still count: a better epoch
# logged before the rotation stays the best
config_plain rotb delete
start rotb
echo "epoch,val_loss,val_sensitivity" >"$T/rotb/metrics.csv"
echo "1,0.50,0.90" >>"$T/rotb/metrics.csv"; save rotb 1
echo "2,0.50,0.50" >>"$T/rotb/metrics.csv"; save rotb 2
"$WAIT" "$(state rotb)" 2 epoch=2.ckpt || not_ok "rotate, best before: record 2 seen (timed out)"
mv "$T/rotb/metrics.csv" "$T/rotb/metrics.csv.1"
{ echo "epoch,val_loss,val_sensitivity"; echo "3,0.50,0.60"; } >"$T/rotb/metrics.csv"; save rotb 3
"$WAIT" "$(state rotb)" 3 epoch=3.ckpt
settle rotb
eq "rotate, best before: best.ckpt stays epoch=1.ckpt" "$(best rotb)" "epoch=1.ckpt"
eq "rotate, best before: 1 and 3 remain" "$(remaining rotb)" "epoch=1.ckpt epoch=3.ckpt "
stop

# --- checkpoints after their metrics, and metrics after their checkpoints
for order in metrics-first ckpt-first; do
	config "$order" delete
	start "$order"
	run "$SIM" "$CSV" "$T/$order" --order "$order" --after "$(after "$order")"
	eq "$order: job stopped after epoch 11" "$out" "stopped after epoch 11"
	clinic_end "$order" "$order"
	eq "$order: promotions to 1..8, each once" "$(keys_of "$order" promoted)" "1 2 3 4 5 6 7 8 "
	stop
done

# every checkpoint long before any metric: nothing happens to unscored ones
config allck delete
start allck
for k in $(seq 11); do save allck "$k"; done
wait_until 10 '[ "$(grep -c "\"name\"" "$(state allck)" 2>/dev/null)" = 11 ]'
settle allck
eq "checkpoints first: unscored, nothing promoted" "$(best allck)|$(events allck | wc -l)" "|0"
eq "checkpoints first: unscored, all 11 kept" "$(remaining allck | wc -w)" 11
seg 1 11 >/dev/null
cat "$T/seg.1-11.csv" >"$T/allck/metrics.csv"
wait_until 10 '[ -e "$T/allck/STOP" ]'
clinic_end allck "metrics last"
stop

# every metric long before any checkpoint
config allm delete
start allm
cat "$T/seg.1-11.csv" >"$T/allm/metrics.csv"
wait_until 10 '[ -e "$T/allm/STOP" ]'
settle allm
eq "metrics first: early stop fired, nothing promoted" "$([ -e "$T/allm/STOP" ] && echo STOP)|$(best allm)" "STOP|"
for k in $(seq 11); do save allm "$k"; done
clinic_end allm "checkpoints last"
stop

done_testing
