# clinic.bash - sourced after lib.bash by the end-to-end tests that run the
# clinic07 example through the real daemon (or `ckptd --once`): the run
# config, readers of its state and events, the daemon in the background.
# Every helper takes the run's NAME: its dir is $T/NAME, its config
# $T/NAME.yaml, its state $T/NAME-state, the daemon's stderr $T/NAME.log.
CSV="$ROOT/examples/clinic07/metrics.csv"
SIM="$ROOT/tests/sim/trainer.sh"
WAIT="$ROOT/tests/sim/wait-state.sh"

# config NAME ACTION [extra yaml lines for the run]: writes $T/NAME.yaml,
# the clinic policy: select on val_sensitivity, early stop on val_loss,
# retention with ACTION (delete, compress), a degrade alert
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
# bad_archives NAME: of the epochs the clinic run compresses (1..7, 10),
# those whose archive is missing or does not decompress to the copy of the
# checkpoint in $T/NAME-orig, as " K K ..."; empty when all are right
bad_archives() {
	local bad="" k a
	for k in 1 2 3 4 5 6 7 10; do
		a="$T/$1/archive/epoch=$k.ckpt.zst"
		if [ ! -f "$a" ] || ! zstd -q -d -c "$a" 2>/dev/null | cmp -s - "$T/$1-orig/epoch=$k.ckpt"; then bad="$bad $k"; fi
	done
	echo "$bad"
}

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
# settle NAME [QUIET [TRIES]]: wait until the daemon's state, events and the
# run's files no longer change: the same in QUIET looks in a row after the
# first, 0.25 s apart (2: 0.5 s quiet), at most TRIES looks (80: 20 s);
# 1 on timeout
settle() {
	local quiet=${2:-2} tries=${3:-80} prev="" cur i same=0
	for i in $(seq "$tries"); do
		cur=$({ cat "$(state "$1")" "$T/$1-state/clinic07/events.jsonl"
			ls -la --time-style=full-iso "$T/$1" "$T/$1/checkpoints" "$T/$1/archive"; } 2>/dev/null | md5sum)
		if [ "$cur" = "$prev" ]; then
			same=$((same + 1))
			[ "$same" -ge "$quiet" ] && return 0
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
# after NAME [SECS]: the trainer's --after hook: wait for the daemon to take
# the epoch (at most SECS, wait-state.sh's default 10 s without)
after() { echo "'$WAIT' '$(state "$1")' \$epoch \"epoch=\$epoch.ckpt\"${2:+ $2}"; }
# after_cp NAME: the hook that keeps a copy of each checkpoint as written in
# $T/NAME-orig (the newest one is always kept, so it is still there), then
# waits
after_cp() { echo "cp -p '$T/$1/checkpoints/epoch='\$epoch.ckpt '$T/$1-orig/' && $(after "$1")"; }
# after_once NAME: the trainer's --after hook that runs `ckptd --once`, as a
# timer would
after_once() { echo "'$CKPTD' -c '$T/$1.yaml' --once 2>>'$T/$1.log'"; }
