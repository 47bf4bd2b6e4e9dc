#!/bin/bash
# The real daemon on checkpoints: compression, directory checkpoints with a
# commit marker, slow in-place writers, truncated zips.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/clinic.bash"
MKZIP="$B/tools/mkzip"

# --- 1. action: compress under the running daemon; every archive
# decompresses to the bytes the job wrote (copied as they were written)
config zst compress
mkdir -p "$T/zst-orig"
start zst
run "$SIM" "$CSV" "$T/zst" --after "$(after_cp zst)"
eq "compress: job stopped after epoch 11" "$out" "stopped after epoch 11"
settle zst
eq "compress: best.ckpt -> epoch=8.ckpt" "$(best zst)" "epoch=8.ckpt"
eq "compress: exactly epochs 8, 9 and 11 remain" "$(remaining zst)" "epoch=8.ckpt epoch=9.ckpt epoch=11.ckpt "
eq "compress: every archive decompresses to its original" "$(bad_archives zst)" ""
eq "compress: the archive dir holds exactly those 8" "$(ls "$T/zst/archive" | sort -t= -k2 -n | tr '\n' ' ')" \
	"epoch=1.ckpt.zst epoch=2.ckpt.zst epoch=3.ckpt.zst epoch=4.ckpt.zst epoch=5.ckpt.zst epoch=6.ckpt.zst epoch=7.ckpt.zst epoch=10.ckpt.zst "
eq "compress: one pruned event per archive" "$(keys_of zst pruned | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')" "1 2 3 4 5 6 7 10 "
eq "compress: kept ones are the originals" "$(for k in 8 9 11; do cmp -s "$T/zst/checkpoints/epoch=$k.ckpt" "$T/zst-orig/epoch=$k.ckpt" || echo $k; done)" ""
eq "compress: no temporaries left" "$(find "$T/zst" "$T/zst-state" -name '*.tmp' | wc -l)" 0
eq "compress: one early_stop, one degraded" "$(count_events zst early_stop) $(count_events zst degraded)" "1 1"
stop

# --- 3a. directories with a commit marker: one without COMMIT is neither
# promoted nor pruned, whatever its metrics
config_plain mark delete
sed -i 's|pattern: "epoch={epoch}.ckpt"}|pattern: "epoch={epoch}.ckpt", ready: "marker:COMMIT"}|' "$T/mark.yaml"
ck="$T/mark/checkpoints"
mkdir -p "$ck"
mkckdir() { # KEY commit|open
	mkdir "$ck/epoch=$1.ckpt"
	head -c 3000 /dev/urandom >"$ck/epoch=$1.ckpt/model.bin"
	echo "{\"epoch\": $1}" >"$ck/epoch=$1.ckpt/meta.json"
	[ "$2" = open ] || : >"$ck/epoch=$1.ckpt/COMMIT"
}
start mark
echo "epoch,val_loss,val_sensitivity" >"$T/mark/metrics.csv"
echo "1,0.50,0.50" >>"$T/mark/metrics.csv"; mkckdir 1 commit
wait_until 10 '[ "$(best mark)" = epoch=1.ckpt ]' || not_ok "marker: epoch 1 promoted (timed out)"
echo "2,0.30,0.90" >>"$T/mark/metrics.csv"; mkckdir 2 open    # the best, not committed
echo "3,0.90,0.30" >>"$T/mark/metrics.csv"; mkckdir 3 open    # the worst, not committed
md5_2=$(cat "$ck/epoch=2.ckpt/model.bin" | md5sum)
for k in 4:0.60 5:0.70 6:0.65; do
	echo "${k%%:*},0.40,${k#*:}" >>"$T/mark/metrics.csv"; mkckdir "${k%%:*}" commit
done
wait_until 10 '[ "$(best mark)" = epoch=5.ckpt ]'
settle mark
eq "marker: the best committed one is promoted, not the uncommitted best" "$(best mark)" "epoch=5.ckpt"
eq "marker: uncommitted dirs 2 and 3 stay, committed 1 and 4 pruned" "$(remaining mark)" "epoch=2.ckpt epoch=3.ckpt epoch=5.ckpt epoch=6.ckpt "
eq "marker: the uncommitted dir is untouched" "$(cat "$ck/epoch=2.ckpt/model.bin" 2>/dev/null | md5sum) $(ls "$ck/epoch=3.ckpt" 2>/dev/null | tr '\n' ' ')" "$md5_2 meta.json model.bin "
eq "marker: no event for an uncommitted dir" "$(events mark | grep -c '"key": *[23],')" 0
: >"$ck/epoch=3.ckpt/COMMIT"   # the worst one completes: now it goes
if wait_until 10 '[ ! -e "$ck/epoch=3.ckpt" ]'; then ok "marker: committed worst is pruned"; else
	not_ok "marker: committed worst is pruned" "$(remaining mark)"; fi
: >"$ck/epoch=2.ckpt/COMMIT"   # the best one completes: now it is promoted
if wait_until 10 '[ "$(best mark)" = epoch=2.ckpt ]'; then ok "marker: committed best is promoted"; else
	not_ok "marker: committed best is promoted" "best: $(best mark)"; fi
settle mark
eq "marker: then 2, 5 and 6 remain" "$(remaining mark)" "epoch=2.ckpt epoch=5.ckpt epoch=6.ckpt "
eq "marker: promotions 1, 5, 2" "$(keys_of mark promoted)" "1 5 2 "
stop

# the clinic run with directory checkpoints under the daemon
config dirs delete
sed -i 's|pattern: "epoch={epoch}.ckpt"}|pattern: "epoch={epoch}.ckpt", ready: "marker:COMMIT"}|' "$T/dirs.yaml"
start dirs
run "$SIM" "$CSV" "$T/dirs" --save dir --after "$(after dirs)"
eq "dirs: job stopped after epoch 11" "$out" "stopped after epoch 11"
settle dirs
eq "dirs: best.ckpt -> epoch=8.ckpt" "$(best dirs)" "epoch=8.ckpt"
eq "dirs: exactly epochs 8, 9 and 11 remain" "$(remaining dirs)" "epoch=8.ckpt epoch=9.ckpt epoch=11.ckpt "
stop

# --- 3b. a checkpoint written in place, slowly, without a rename: not
# promoted while the writer has it open; promoted once it is closed
config_plain slow delete
ck="$T/slow/checkpoints"
mkdir -p "$ck"
start slow
echo "epoch,val_loss,val_sensitivity" >"$T/slow/metrics.csv"
echo "1,0.50,0.50" >>"$T/slow/metrics.csv"
head -c 4000 /dev/urandom >"$ck/.epoch=1.ckpt.tmp" && mv "$ck/.epoch=1.ckpt.tmp" "$ck/epoch=1.ckpt"
wait_until 10 '[ "$(best slow)" = epoch=1.ckpt ]' || not_ok "slow: epoch 1 promoted (timed out)"
echo "2,0.30,0.90" >>"$T/slow/metrics.csv"
"$WAIT" "$(state slow)" 2 || not_ok "slow: record 2 seen (timed out)"
{ head -c 2000 /dev/urandom; sleep 1; head -c 2000 /dev/urandom; } >"$ck/epoch=2.ckpt" &
wpid=$!
seen="" samples=0
while kill -0 "$wpid" 2>/dev/null; do
	l=$(best slow)
	[ -e "$ck/epoch=2.ckpt" ] && samples=$((samples + 1))
	[ "$l" = epoch=2.ckpt ] && seen="best.ckpt -> epoch=2.ckpt while open (size $(stat -c %s "$ck/epoch=2.ckpt"))"
	sleep 0.05
done
wait "$wpid"
[ "$samples" -ge 5 ] && eq "slow: best.ckpt never points at the open file" "$seen" "" ||
	not_ok "slow: best.ckpt never points at the open file" "only $samples samples while open"
if wait_until 10 '[ "$(best slow)" = epoch=2.ckpt ]'; then ok "slow: promoted once closed"; else
	not_ok "slow: promoted once closed" "best: $(best slow)" "$(tail -5 "$T/slow.log")"; fi
eq "slow: promoted once" "$(keys_of slow promoted)" "1 2 "
stop

# --- 3c. a truncated zip named like the best checkpoint is not promoted
# (nor pruned); completed by temp + rename, it is promotable
config_plain zip delete
ck="$T/zip/checkpoints"
mkdir -p "$ck"
putzip() { # KEY [CUT]
	"$MKZIP" "$ck/.epoch=$1.ckpt.tmp" 100000 ${2:-} && mv "$ck/.epoch=$1.ckpt.tmp" "$ck/epoch=$1.ckpt"
}
start zip
echo "epoch,val_loss,val_sensitivity" >"$T/zip/metrics.csv"
echo "1,0.50,0.50" >>"$T/zip/metrics.csv"; putzip 1
wait_until 10 '[ "$(best zip)" = epoch=1.ckpt ]' || not_ok "zip: epoch 1 promoted (timed out)"
echo "2,0.30,0.90" >>"$T/zip/metrics.csv"; putzip 2 60000
"$WAIT" "$(state zip)" 2 || not_ok "zip: record 2 seen (timed out)"
settle zip
eq "zip: a truncated zip is not promoted" "$(best zip)" "epoch=1.ckpt"
echo "3,0.40,0.60" >>"$T/zip/metrics.csv"; putzip 3
echo "4,0.40,0.70" >>"$T/zip/metrics.csv"; putzip 4
wait_until 10 '[ "$(best zip)" = epoch=4.ckpt ]'
settle zip
eq "zip: best among complete ones" "$(best zip)" "epoch=4.ckpt"
eq "zip: the truncated one is not pruned, epoch 1 is" "$(remaining zip)" "epoch=2.ckpt epoch=3.ckpt epoch=4.ckpt "
eq "zip: the truncated one is untouched" "$(stat -c %s "$ck/epoch=2.ckpt" 2>/dev/null)" 60000
putzip 2   # the writer finishes: the whole file again, by temp + rename
if wait_until 10 '[ "$(best zip)" = epoch=2.ckpt ]'; then ok "zip: completed, it is promoted"; else
	not_ok "zip: completed, it is promoted" "best: $(best zip)" "$(tail -5 "$T/zip.log")"; fi
settle zip
eq "zip: then 2 and 4 remain" "$(remaining zip)" "epoch=2.ckpt epoch=4.ckpt "
eq "zip: promotions 1, 4, 2" "$(keys_of zip promoted)" "1 4 2 "
stop

done_testing
