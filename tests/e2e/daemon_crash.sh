#!/bin/bash
# The real daemon killed with SIGKILL at several points of a run, restarted:
# the end result is that of an uninterrupted run, no event repeated.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/clinic.bash"

# final NAME LABEL: what an uninterrupted clinic run with compress leaves
final() {
	settle "$1"
	eq "$2: best.ckpt -> epoch=8.ckpt" "$(best "$1")" "epoch=8.ckpt"
	eq "$2: exactly epochs 8, 9 and 11 remain" "$(remaining "$1")" "epoch=8.ckpt epoch=9.ckpt epoch=11.ckpt "
	eq "$2: every archive decompresses to its original" "$(bad_archives "$1")" ""
	eq "$2: the archive dir holds only those" "$(ls -A "$T/$1/archive" | wc -l)" 8
	eq "$2: no key promoted twice" "$(dup_keys "$1" promoted)" ""
	eq "$2: no key pruned twice" "$(dup_keys "$1" pruned)" ""
	eq "$2: each pruned once" "$(count_events "$1" pruned)" 8
	eq "$2: no prune_failed" "$(count_events "$1" prune_failed)" 0
	eq "$2: one early_stop, one degraded" "$(count_events "$1" early_stop) $(count_events "$1" degraded)" "1 1"
	eq "$2: no *.tmp litter" "$(find "$T/$1" "$T/$1-state" -name '*.tmp' | tr '\n' ' ')" ""
}

# --- kill -9 at several points of the clinic run, restart each time
config kill compress
mkdir -p "$T/kill-orig"
start kill
run "$SIM" "$(seg 1 3)" "$T/kill" --after "$(after_cp kill)"
crash; start kill                                  # after epoch 3
run "$SIM" "$(seg 4 7)" "$T/kill" --after "$(after_cp kill)"
crash; start kill                                  # after epoch 7
run "$SIM" "$(seg 8 9)" "$T/kill" --after "$(after_cp kill)"
crash; start kill                                  # after epoch 9
run "$SIM" "$(seg 10 11)" "$T/kill" --after "$(after_cp kill)"
crash; start kill                                  # after epoch 11
run "$SIM" "$(seg 12 15)" "$T/kill" --after "$(after_cp kill)"
eq "kill -9 at 3, 7, 9, 11: job stopped after epoch 11" "$out" "stopped after epoch 11"
final kill "kill -9 at 3, 7, 9, 11"
eq "kill -9 at 3, 7, 9, 11: promotions 1..8, each once" "$(keys_of kill promoted)" "1 2 3 4 5 6 7 8 "
stop

# the same, but the job does not wait for the daemon: the kill lands while
# it is still catching up with a burst of epochs
config burst compress
mkdir -p "$T/burst-orig"
start burst
for s in "1 3" "4 7" "8 9" "10 11"; do
	run "$SIM" "$(seg $s)" "$T/burst" --after "cp -p '$T/burst/checkpoints/epoch='\$epoch.ckpt '$T/burst-orig/'"
	sleep 0.0$((RANDOM % 10))
	crash; start burst
done
wait_until 15 '[ -e "$T/burst/STOP" ]'
run "$SIM" "$(seg 12 15)" "$T/burst"
eq "kill -9 mid catch-up: job stopped after epoch 11" "$out" "stopped after epoch 11"
final burst "kill -9 mid catch-up"
stop

# --- kill -9 while a several-MB checkpoint is being compressed (its
# temporary is in archive/), then restart
config big compress
mkdir -p "$T/big-orig"
start big
run "$SIM" "$(seg 1 2)" "$T/big" --size 20000000 --after "$(after_cp big)"
caught=""
for k in 3 4 5; do   # each of these epochs makes the daemon compress epoch k-2
	run "$SIM" "$(seg $k $k)" "$T/big" --size 20000000 --after "cp -p '$T/big/checkpoints/epoch='\$epoch.ckpt '$T/big-orig/'"
	end=$((SECONDS + 15))
	while [ $SECONDS -lt $end ]; do
		if compgen -G "$T/big/archive/.*.tmp" >/dev/null; then
			crash; caught="epoch $((k - 2)): $(ls -A "$T/big/archive" | tr '\n' ' ')"; break 2
		fi
		[ -e "$T/big/archive/epoch=$((k - 2)).ckpt.zst" ] && break
	done
	"$WAIT" "$(state big)" "$k" "epoch=$k.ckpt" >/dev/null 2>&1
done
if [ -n "$caught" ]; then ok "big: killed while compressing ($caught)"; else
	not_ok "big: killed while compressing" "never saw archive/*.tmp: the compressions were too quick"; fi
start big
next=$((k + 1))
run "$SIM" "$(seg $next 15)" "$T/big" --after "$(after_cp big)"
eq "big: job stopped after epoch 11" "$out" "stopped after epoch 11"
final big "kill -9 mid compress"
stop

# --- the temporaries a kill -9 leaves mid-write (seen in the runs above:
# .state.json.XXXXXX.tmp in the state dir, .STOP.XXXXXX.tmp in the run dir),
# planted so that the case does not depend on timing:
# the restarted daemon removes its own, and only its own
config litter compress
start litter
run "$SIM" "$(seg 1 3)" "$T/litter" --after "$(after litter)"
crash
: >"$T/litter-state/clinic07/.state.json.abcdef.tmp"
: >"$T/litter/.STOP.abcdef.tmp"
: >"$T/litter/archive/.epoch=1.ckpt.zst.abcdef.tmp"
: >"$T/litter/checkpoints/.best.ckpt.abcdef.tmp"
: >"$T/litter/checkpoints/.epoch=4.ckpt.tmp"     # the job's, not ckptd's
start litter
"$WAIT" "$(state litter)" 3 || true
settle litter
eq "litter: a restart removes what a crash left mid-write" \
	"$(cd "$T" && find litter litter-state -name '*.tmp' | sort | tr '\n' ' ')" "litter/checkpoints/.epoch=4.ckpt.tmp "
stop

done_testing
