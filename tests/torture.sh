#!/bin/bash
# Crash torture (issue 4, part 3): the simulated training job on the clinic
# table, ITERATIONS times, while a killer loop SIGKILLs the daemon at random
# moments (during promotion, during compression, mid catch-up) and restarts
# it, and a sampler checks best.ckpt every ~10 ms.  After each run the
# daemon runs once more, settles, and the invariants are checked:
#   - best.ckpt, whenever it existed, resolved to a complete checkpoint
#     (a regular file whose sha256 is the one the job wrote);
#   - best -> epoch=8.ckpt; exactly epochs 8, 9, 11 remain, hash-equal to
#     what the job wrote (no data lost);
#   - compress: every archive decompresses to its original;
#   - no *.tmp litter in the run dir or the state dir;
#   - no key promoted or pruned twice, no prune_failed;
#   - exactly one early_stop and one degraded event.
#
#   tests/torture.sh [ITERATIONS]      (default 50; TAP output, then a summary)
# Environment: CKPTD_BUILD (the binaries, as for the e2e tests),
#   TORTURE_SEED (default: from the clock; printed), TORTURE_ONLY=I (run only
#   iteration I of that seed: the reproduction of a failure),
#   TORTURE_KEEP (where a failing iteration's files and logs are copied;
#   default /tmp/ckptd-torture-SEED), TORTURE_MAX_MB (largest checkpoint
#   size of the "big" iterations, default 8).
. "$(dirname "$0")/e2e/lib.bash"
. "$(dirname "$0")/e2e/clinic.bash"

N=${1:-50}
SEED=${TORTURE_SEED:-$(date +%s%N | cut -c 6-13)}
SEED=$((10#$SEED))
ONLY=${TORTURE_ONLY:-}
KEEP=${TORTURE_KEEP:-/tmp/ckptd-torture-$SEED}
MAX_MB=${TORTURE_MAX_MB:-8}
RANDOM=$SEED
echo "# torture: seed $SEED (TORTURE_SEED=$SEED to repeat), $N iterations, binaries in $B"

# the daemons the killer loops start are their grandchildren: make sure none
# outlives the script (only the pids recorded here, never by name)
torture_cleanup() {
	local f p
	for f in "$T"/*.dpid; do
		[ -f "$f" ] || continue
		p=$(cat "$f" 2>/dev/null)
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null
	done
	cleanup
}
trap torture_cleanup EXIT

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# sampler NAME T0: until $T/NAME.sampler-stop exists, every ~10 ms: where
# best.ckpt points and the sha256 of what it points at, one line per look
# ("MS TARGET HASH", HASH = missing / notreg / notlink); looks where the link
# changed between the two readlinks are counted as raced, not judged
sampler() {
	local name=$1 t0=$2 ck="$T/$1/checkpoints" a b h p looks=0 raced=0
	local out="$T/$name.samples"
	: >"$out"
	while [ ! -e "$T/$name.sampler-stop" ]; do
		if [ -L "$ck/best.ckpt" ] || [ -e "$ck/best.ckpt" ]; then
			if [ ! -L "$ck/best.ckpt" ]; then
				echo "$(($(now_ms) - t0)) best.ckpt notlink" >>"$out"
			else
				a=$(readlink "$ck/best.ckpt" 2>/dev/null)
				case $a in /*) p=$a ;; *) p="$ck/$a" ;; esac
				if [ -n "$a" ] && [ -f "$p" ] && [ ! -L "$p" ]; then
					h=$(sha256sum <"$p" 2>/dev/null | cut -d' ' -f1)
					[ -n "$h" ] || h=missing
				elif [ -n "$a" ] && [ -e "$p" ]; then
					h=notreg
				else
					h=missing
				fi
				b=$(readlink "$ck/best.ckpt" 2>/dev/null)
				if [ -n "$a" ] && [ "$a" = "$b" ]; then
					echo "$(($(now_ms) - t0)) $a $h" >>"$out"
				elif [ -n "$a" ]; then
					raced=$((raced + 1))
				fi
			fi
		fi
		looks=$((looks + 1))
		sleep 0.01
	done
	echo "$looks $raced" >"$T/$name.looks"
}

# killer NAME T0 LAST_MS SLEEP_MS...: starts the daemon; after each sleep (or,
# for "c", once an archive temporary is there: mid-compression) kills it with
# SIGKILL and starts it again, until the sleeps run out or the job is done
# ($T/NAME.job-done); then lets it run until the job is done and kills it a
# last time, LAST_MS after.  Each kill is a line of $T/NAME.kills.
killer() {
	local name=$1 t0=$2 last=$3 s w end; shift 3
	: >"$T/$name.kills"
	start "$name"; echo "$dpid" >"$T/$name.dpid"
	for s in "$@"; do
		[ -e "$T/$name.job-done" ] && break
		case $s in
		c*)	# aimed at a compression: as soon as an archive temporary
			# shows, at the latest after 1.5 s
			s=${s#c}
			end=$(($(now_ms) + 1500))
			until compgen -G "$T/$name/archive/.*.tmp" >/dev/null ||
				[ "$(now_ms)" -ge "$end" ] || [ -e "$T/$name.job-done" ]; do
				sleep 0.002
			done
			s="c ($(($(now_ms) - end + 1500)) ms)" ;;
		*)	sleep "$(printf '0.%03d' "$s")"
			s="$s ms" ;;
		esac
		[ -e "$T/$name.job-done" ] && break
		# what was in flight (seen just before the kill)
		w=""
		compgen -G "$T/$name/archive/.*.tmp" >/dev/null && w="$w compressing"
		compgen -G "$T/$name/checkpoints/.best.ckpt.*.tmp" >/dev/null && w="$w promoting"
		crash
		echo "$(($(now_ms) - t0)) kill -9 (after ${s})$w" >>"$T/$name.kills"
		echo "--- kill -9 at +$(($(now_ms) - t0)) ms, restart" >>"$T/$name.log"
		start "$name"; echo "$dpid" >"$T/$name.dpid"
	done
	while [ ! -e "$T/$name.job-done" ]; do sleep 0.02; done
	sleep "$(printf '0.%03d' "$last")"
	crash
	echo "$(($(now_ms) - t0)) kill -9 (after the job)" >>"$T/$name.kills"
	echo "--- kill -9 at +$(($(now_ms) - t0)) ms (after the job)" >>"$T/$name.log"
	rm -f "$T/$name.dpid"
}

# judge_samples NAME: the sampler's looks that violate the invariant, each
# as "+MS: best.ckpt -> TARGET: WHY"
judge_samples() {
	awk -v sums="$T/$1.sums" '
		BEGIN { while ((getline l < sums) > 0) { split(l, f, "  "); want[f[2]] = f[1] } }
		$3 == "notlink" { print "+" $1 " ms: best.ckpt is not a symlink"; next }
		$3 == "missing" { print "+" $1 " ms: best.ckpt -> " $2 ": missing"; next }
		$3 == "notreg"  { print "+" $1 " ms: best.ckpt -> " $2 ": not a regular file"; next }
		!($2 in want)   { print "+" $1 " ms: best.ckpt -> " $2 ": not a checkpoint the job wrote"; next }
		want[$2] != $3  { print "+" $1 " ms: best.ckpt -> " $2 ": content differs from what the job wrote (partial?)" }
	' "$T/$1.samples"
}

total_kills=0 total_comp=0 total_prom=0 total_looks=0 total_obs=0 total_raced=0 total_viol=0 total_lost=0 iters=0
failed_iters=""
t_start=$SECONDS

for i in $(seq 0 $((N - 1))); do
	[ -n "$ONLY" ] && [ "$i" != "$ONLY" ] && continue
	# each iteration draws from its own seed, so TORTURE_ONLY=I repeats it
	RANDOM=$((SEED + i * 7919))
	name="it$i"
	if [ $((i % 2)) -eq 0 ]; then action=compress; else action=delete; fi
	size=4096
	[ $((RANDOM % 2)) -eq 0 ] && size=$(((RANDOM % MAX_MB + 1) * 1000000))
	if [ $((RANDOM % 3)) -eq 0 ]; then mode=nowait; else mode=wait; fi
	pace=$((RANDOM % 200))
	nkills=$((RANDOM % 7 + 4))
	sleeps=()
	# on a compress iteration some kills wait for a compression to be in
	# flight ("c": half of them with big checkpoints, a quarter with small
	# ones); the others come after 0-300 ms
	cshare=0
	[ "$action" = compress ] && { [ "$size" -gt 4096 ] && cshare=2 || cshare=4; }
	for _ in $(seq "$nkills"); do
		if [ "$cshare" -gt 0 ] && [ $((RANDOM % cshare)) -eq 0 ]; then sleeps+=(c)
		else sleeps+=($((RANDOM % 301))); fi
	done
	last=$((RANDOM % 301))
	params="action $action, size $size, $mode$([ "$mode" = nowait ] && echo " (pace $pace ms)"), up to $nkills kills after ${sleeps[*]} (ms; c = mid-compression), last $last ms after the job"
	echo "# iteration $i: $params"
	it_t0=$SECONDS

	config "$name" "$action"
	mkdir -p "$T/$name-orig"
	: >"$T/$name.sums"
	: >"$T/$name.log"
	# the job's hook: the hash and a copy of each checkpoint as written (the
	# newest is always kept, so it is still there), then, in wait mode, wait
	# for the daemon at most 3 s (it may be dead for a while)
	keep="( cd '$T/$name/checkpoints' && sha256sum \"epoch=\$epoch.ckpt\" >>'$T/$name.sums' && cp -p \"epoch=\$epoch.ckpt\" '$T/$name-orig/' )"
	# for the daemon at most 3 s (it may be dead for a while); in nowait mode
	# the job goes at its own pace, PACE ms an epoch
	if [ "$mode" = wait ]; then hook="$keep && { $(after "$name" 3) >/dev/null 2>&1 || true; }"
	else hook="$keep && sleep $(printf '0.%03d' "$pace")"; fi

	t0=$(now_ms)
	sampler "$name" "$t0" &
	spid=$!
	killer "$name" "$t0" "$last" "${sleeps[@]}" &
	kpid=$!

	# the job: epochs 1..11, then (once the daemon asked it to stop, at most
	# 30 s later) the rest of the table, which it must not write
	"$SIM" "$(seg 1 11)" "$T/$name" --size "$size" --after "$hook" >"$T/$name.job1" 2>&1
	job1_rc=$?
	wait_until 30 '[ -e "$T/$name/STOP" ]'
	stop_seen=$?
	"$SIM" "$(seg 12 15)" "$T/$name" --size "$size" --after "$hook" >"$T/$name.job2" 2>&1
	job_out=$(cat "$T/$name.job2")
	: >"$T/$name.job-done"
	wait "$kpid"

	# the daemon runs again (as after a reboot) and settles
	echo "--- final start at +$(($(now_ms) - t0)) ms" >>"$T/$name.log"
	start "$name"; echo "$dpid" >"$T/$name.dpid"
	settle "$name" 3 120 || echo "# iteration $i: did not settle in 30 s"
	: >"$T/$name.sampler-stop"
	wait "$spid"

	kills=$(wc -l <"$T/$name.kills")
	comp=$(grep -c compressing "$T/$name.kills")
	prom=$(grep -c promoting "$T/$name.kills")
	read -r looks raced <"$T/$name.looks"
	obs=$(wc -l <"$T/$name.samples")
	viol=$(judge_samples "$name")
	nviol=0; [ -n "$viol" ] && nviol=$(printf '%s\n' "$viol" | wc -l)

	# what the job wrote of the kept epochs, compared with what is there
	lost=""
	for k in 8 9 11; do
		f="$T/$name/checkpoints/epoch=$k.ckpt"
		w=$(awk -v n="epoch=$k.ckpt" -F'  ' '$2 == n { print $1 }' "$T/$name.sums")
		if [ ! -f "$f" ] || [ -L "$f" ]; then lost="$lost epoch=$k.ckpt (missing)"
		elif [ "$(sha256sum <"$f" | cut -d' ' -f1)" != "$w" ]; then lost="$lost epoch=$k.ckpt (differs)"; fi
	done
	nlost=$(echo $lost | grep -o 'epoch=' | wc -l)
	if [ "$action" = compress ]; then
		bad=$(bad_archives "$name")
		nlost=$((nlost + $(echo $bad | wc -w)))
	fi

	f0=$_failed
	tag="it $i ($action, $size B, $mode, $kills kills)"
	eq "$tag: job stopped after epoch 11" "$job1_rc $stop_seen $job_out" "0 0 stopped after epoch 11"
	if [ "$nviol" -eq 0 ]; then ok "$tag: best.ckpt complete at all $obs observations ($raced raced)"; else
		not_ok "$tag: best.ckpt complete at all $obs observations" "$nviol violations:" "$(printf '%s\n' "$viol" | head -n 20)"; fi
	eq "$tag: best.ckpt -> epoch=8.ckpt" "$(best "$name")" "epoch=8.ckpt"
	eq "$tag: exactly 8, 9, 11 remain" "$(remaining "$name")" "epoch=8.ckpt epoch=9.ckpt epoch=11.ckpt "
	eq "$tag: kept checkpoints intact (sha256 as written)" "$lost" ""
	if [ "$action" = compress ]; then
		eq "$tag: every archive decompresses to its original, nothing else there" \
			"$bad/$(ls -A "$T/$name/archive" 2>/dev/null | wc -l)" "/8"
	else
		eq "$tag: delete: no archive made" "$(ls -A "$T/$name/archive" 2>/dev/null | wc -l)" 0
	fi
	eq "$tag: no *.tmp litter" "$(cd "$T" && find "$name" "$name-state" -name '*.tmp' | sort | tr '\n' ' ')" ""
	eq "$tag: events not duplicated (promoted, pruned), 8 pruned, no prune_failed" \
		"[$(dup_keys "$name" promoted)] [$(dup_keys "$name" pruned)] $(count_events "$name" pruned) $(count_events "$name" prune_failed)" \
		"[] [] 8 0"
	eq "$tag: one early_stop, one degraded" \
		"$(count_events "$name" early_stop) $(count_events "$name" degraded)" "1 1"
	stop
	rm -f "$T/$name.dpid"

	iters=$((iters + 1))
	total_kills=$((total_kills + kills))
	total_comp=$((total_comp + comp))
	total_prom=$((total_prom + prom))
	total_looks=$((total_looks + looks))
	total_obs=$((total_obs + obs))
	total_raced=$((total_raced + raced))
	total_viol=$((total_viol + nviol))
	total_lost=$((total_lost + nlost))
	echo "# iteration $i: $kills kills ($comp mid-compression, $prom mid-promotion), $obs observations, $nviol violations, $nlost lost, $((SECONDS - it_t0)) s"
	if [ "$_failed" -ne "$f0" ]; then
		failed_iters="$failed_iters $i"
		mkdir -p "$KEEP"
		rm -rf "$KEEP/$name"
		mkdir -p "$KEEP/$name"
		cp -a "$T/$name" "$T/$name-state" "$T/$name-orig" "$T/$name.yaml" "$T/$name.log" \
			"$T/$name.kills" "$T/$name.samples" "$T/$name.sums" "$T/$name.job1" "$T/$name.job2" \
			"$KEEP/$name/" 2>/dev/null
		echo "$params" >"$KEEP/$name/params"
		echo "# iteration $i FAILED: files and logs in $KEEP/$name"
		echo "# repeat: CKPTD_BUILD=$B TORTURE_SEED=$SEED TORTURE_ONLY=$i bash tests/torture.sh $N"
	fi
	rm -rf "$T/$name" "$T/$name-state" "$T/$name-orig"
done

echo "# torture summary: seed $SEED, $iters iterations, $total_kills kills ($total_comp mid-compression, $total_prom mid-promotion)," \
	"$total_obs sampler observations of best.ckpt ($total_looks looks, $total_raced raced)," \
	"$total_viol violations, $total_lost data lost, $((SECONDS - t_start)) s wall"
[ -n "$failed_iters" ] && echo "# torture: failed iterations:$failed_iters (seed $SEED; files in $KEEP)"
eq "torture: no checkpoint or archive lost over $iters iterations" "$total_lost" 0
done_testing
