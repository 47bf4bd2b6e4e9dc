#!/bin/bash
# Fault injection: chosen syscalls fail (tests/tools/libfault.c, by
# LD_PRELOAD) while the real daemon runs the clinic job.  In every case the
# daemon keeps running, keeps the original data, raises a clear event or
# log line, and recovers when the fault clears.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/clinic.bash"
SHIM="$B/tools/libfault.so"
FAULTS="$T/faults"
: >"$FAULTS"
# the sanitizer runtime must come first; with the shim preloaded it need not
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
fstart() { CKPTD_FAULTS="$FAULTS" LD_PRELOAD="$SHIM" start "$@"; }
alive() { if kill -0 "$dpid" 2>/dev/null; then ok "$1"; else not_ok "$1" "$(tail -5 "$T/$2.log")"; fi; }
kick() { touch "$T/$1/checkpoints/kick"; }   # any change makes the daemon look again

# --- ENOSPC while writing archives: prune_failed, originals stay; then the
# disk has room again and the next pass compresses them
config nospc compress
mkdir -p "$T/nospc-orig"
echo "write ENOSPC /archive/" >"$FAULTS"
fstart nospc
run "$SIM" "$CSV" "$T/nospc" --after "$(after_cp nospc)"
eq "ENOSPC: job stopped after epoch 11" "$out" "stopped after epoch 11"
wait_until 10 '[ "$(count_events nospc prune_failed)" -ge 1 ]'
sleep 1.5   # retries (backing off) must not repeat the event
eq "ENOSPC: prune_failed raised, once per checkpoint" "$([ "$(count_events nospc prune_failed)" -ge 1 ] && echo yes) $(dup_keys nospc prune_failed)" "yes "
has "ENOSPC: the event says why" "No space left on device" "$(events nospc | grep prune_failed | head -1)"
eq "ENOSPC: nothing pruned" "$(count_events nospc pruned)" 0
bad=""; for k in 1 2 3 4 5 6 7 8 9 10 11; do cmp -s "$T/nospc/checkpoints/epoch=$k.ckpt" "$T/nospc-orig/epoch=$k.ckpt" || bad="$bad $k"; done
eq "ENOSPC: every original intact" "$bad" ""
eq "ENOSPC: no temporaries left" "$(find "$T/nospc" -name '*.tmp' | wc -l)" 0
alive "ENOSPC: the daemon keeps running" nospc
: >"$FAULTS"
kick nospc
wait_until 40 '[ "$(count_events nospc pruned)" -ge 8 ]'
eq "ENOSPC cleared: exactly 8, 9, 11 remain" "$(remaining nospc | sed 's/kick //')" "epoch=8.ckpt epoch=9.ckpt epoch=11.ckpt "
eq "ENOSPC cleared: every archive decompresses to its original" "$(bad_archives nospc)" ""
stop

# --- EIO on fsync of the archive: the same (the original is never removed
# before its archive is durable)
config eio compress
mkdir -p "$T/eio-orig"
echo "fsync EIO /archive/" >"$FAULTS"
fstart eio
run "$SIM" "$CSV" "$T/eio" --after "$(after_cp eio)"
wait_until 10 '[ "$(count_events eio prune_failed)" -ge 1 ]'
eq "EIO on fsync: prune_failed, nothing pruned" "$(dup_keys eio prune_failed)|$(count_events eio pruned)" "|0"
eq "EIO on fsync: all 11 originals still there" "$(remaining eio | wc -w)" 11
: >"$FAULTS"
kick eio
wait_until 40 '[ "$(count_events eio pruned)" -ge 8 ]'
eq "EIO cleared: archives decompress to the originals" "$(bad_archives eio)" ""
stop

# --- EACCES renaming the link into place: no promotion, nothing pruned
# (pruning waits for a good promotion), then it recovers
config acc delete
echo "renameat EACCES best.ckpt" >"$FAULTS"
fstart acc
run "$SIM" "$(seg 1 4)" "$T/acc"
wait_until 5 'grep -q "promoting epoch=4.ckpt as best.ckpt" "$T/acc.log"'
has "EACCES on rename: logged" "Permission denied" "$(cat "$T/acc.log")"
eq "EACCES on rename: no best.ckpt, nothing pruned" "$(best acc)|$(count_events acc pruned)" "|0"
: >"$FAULTS"
kick acc
wait_until 5 '[ "$(best acc)" = epoch=4.ckpt ]'
eq "EACCES cleared: promoted" "$(best acc)" "epoch=4.ckpt"
alive "EACCES: the daemon keeps running" acc
stop

# --- EMFILE opening the checkpoints dir: logged, retried, recovers
config mfile delete
echo "openat EMFILE $T/mfile/checkpoints" >"$FAULTS"
mkdir -p "$T/mfile/checkpoints"
fstart mfile
run "$SIM" "$(seg 1 3)" "$T/mfile"
sleep 0.5
has "EMFILE: logged" "Too many open files" "$(cat "$T/mfile.log")"
eq "EMFILE: nothing promoted yet" "$(best mfile)" ""
: >"$FAULTS"
kick mfile
wait_until 5 '[ "$(best mfile)" = epoch=3.ckpt ]'
eq "EMFILE cleared: promoted" "$(best mfile)" "epoch=3.ckpt"
stop

# --- the inotify watch limit (ENOSPC from inotify_add_watch): polling
config limit delete
echo "inotify_add_watch ENOSPC" >"$FAULTS"
fstart limit
run "$SIM" "$CSV" "$T/limit" --after "$(after limit 20)"
eq "watch limit: job stopped after epoch 11" "$out" "stopped after epoch 11"
has "watch limit: says it polls, and how to raise the limit" "max_user_watches" "$(cat "$T/limit.log")"
wait_until 10 '[ "$(remaining limit)" = "epoch=8.ckpt epoch=9.ckpt epoch=11.ckpt " ]'
eq "watch limit: the same decisions" "$(best limit) $(remaining limit)" "epoch=8.ckpt epoch=8.ckpt epoch=9.ckpt epoch=11.ckpt "
stop

done_testing
