#!/bin/bash
# The real daemon killed with SIGKILL at several points of a run, restarted:
# the end result is that of an uninterrupted run, no event repeated.
. "$(dirname "$0")/lib.bash"
CSV="$ROOT/examples/clinic07/metrics.csv"
SIM="$ROOT/tests/sim/trainer.sh"
WAIT="$ROOT/tests/sim/wait-state.sh"
MKZIP="$B/tools/mkzip"

# config NAME ACTION [extra yaml lines for the run]: writes $T/NAME.yaml
# (the clinic policy of daemon.sh)
config() {
	local name=$1 action=$2; shift 2
	mkdir -p "$T/$name"
	{
		echo "state_dir: $T/$name-state"
		echo "runs:"
		echo "  - name: clinic07"
		echo "    dir: $T/$name"
		echo "    metrics: {path: metrics.csv}"
		echo "    checkpoints: {path: checkpoints, pattern: \"epoch={epoch}.ckpt\"}"
		echo "    select: {by: [val_sensitivity]}"
		echo "    early_stop: {metric: val_loss, patience: 3, action: {touch: STOP}}"
		echo "    retain: {best: 2, last: 1, action: $action}"
		echo "    alerts:"
		echo "      degrade: {metric: val_loss, after: 2, by: 0.02, train_metric: train_loss}"
		for l in "$@"; do echo "$l"; done
	} >"$T/$name.yaml"
}
# config_plain NAME ACTION: selection on val_sensitivity and retention only
config_plain() {
	config "$@"
	sed -i '/early_stop:/d; /alerts:/d; /degrade:/d' "$T/$1.yaml"
}
state() { echo "$T/$1-state/clinic07/state.json"; }
events() { cat "$T/$1-state/clinic07/events.jsonl" 2>/dev/null; }
count_events() { events "$1" | grep -c "\"event\": *\"$2\""; }
# keys_of NAME EVENT: the keys of every EVENT, in order
keys_of() { events "$1" | grep "\"event\": *\"$2\"" | sed 's/.*"key": *\([0-9]*\).*/\1/' | tr '\n' ' '; }
# dup_keys NAME EVENT: keys that have more than one EVENT
dup_keys() { events "$1" | grep "\"event\": *\"$2\"" | sed 's/.*"key": *\([0-9]*\).*/\1/' | sort | uniq -d | tr '\n' ' '; }
remaining() { (cd "$T/$1/checkpoints" && ls -1 | grep -v '^best' | sort -t= -k2 -n | tr '\n' ' '); }
best() { readlink "$T/$1/checkpoints/best.ckpt" 2>/dev/null; }

# start NAME [args]: the daemon in the background, its pid in $dpid
start() {
	local name=$1; shift
	"$CKPTD" -c "$T/$name.yaml" "$@" 2>>"$T/$name.log" &
	dpid=$!
}
stop() { kill -TERM "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null; }
# crash: kill -9, as the OOM killer or a power cut would
crash() { kill -KILL "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null; }
# wait_until SECS CMD: polls the shell command CMD every 50 ms; 1 on timeout
wait_until() {
	local end=$((SECONDS + $1)); shift
	until eval "$*"; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.05
	done
}
# settle NAME: wait until the daemon's state, events and the run's files no
# longer change (0.5 s quiet, at most 20 s)
settle() {
	local prev="" cur i same=0
	for i in $(seq 80); do
		cur=$({ cat "$(state "$1")" "$T/$1-state/clinic07/events.jsonl"
			ls -la --time-style=full-iso "$T/$1" "$T/$1/checkpoints" "$T/$1/archive"; } 2>/dev/null | md5sum)
		if [ "$cur" = "$prev" ]; then
			same=$((same + 1))
			[ "$same" -ge 2 ] && return 0
		else
			same=0
		fi
		prev=$cur
		sleep 0.25
	done
	return 1
}
# seg FROM TO: the clinic table cut to the epochs FROM..TO (header kept)
seg() {
	awk -F, -v a="$1" -v b="$2" 'NR == 1 || ($1 >= a && $1 <= b)' "$CSV" >"$T/seg.$1-$2.csv"
	echo "$T/seg.$1-$2.csv"
}
# after NAME: the trainer's --after hook: wait for the daemon to take the epoch
after() { echo "'$WAIT' '$(state "$1")' \$epoch \"epoch=\$epoch.ckpt\""; }

# after_cp NAME: the hook that keeps a copy of each checkpoint as written
# (the newest one is always kept, so it is still there), then waits
after_cp() { echo "cp -p '$T/$1/checkpoints/epoch='\$epoch.ckpt '$T/$1-orig/' && $(after "$1")"; }
# final NAME LABEL: what an uninterrupted clinic run with compress leaves
final() {
	settle "$1"
	eq "$2: best.ckpt -> epoch=8.ckpt" "$(best "$1")" "epoch=8.ckpt"
	eq "$2: exactly epochs 8, 9 and 11 remain" "$(remaining "$1")" "epoch=8.ckpt epoch=9.ckpt epoch=11.ckpt "
	local bad="" k a
	for k in 1 2 3 4 5 6 7 10; do
		a="$T/$1/archive/epoch=$k.ckpt.zst"
		if [ ! -f "$a" ] || ! zstd -q -d -c "$a" 2>/dev/null | cmp -s - "$T/$1-orig/epoch=$k.ckpt"; then bad="$bad $k"; fi
	done
	eq "$2: every archive decompresses to its original" "$bad" ""
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
