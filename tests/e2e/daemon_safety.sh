#!/bin/bash
# The real daemon and what it must never touch: symlinks named like
# checkpoints and their targets, a run under --dry-run, pinned checkpoints.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/clinic.bash"

# listing DIR: every entry with its type, size, mtime, ctime and link target
listing() { (cd "$1" && find . -printf '%p %y %s %T@ %C@ %l\n' | sort); }

# --- symlinks named like checkpoints: never checkpoints, never followed,
# never touched, nor their targets, nor promoted
for action in delete compress; do
	n=sym-$action
	config "$n" "$action"
	mkdir -p "$T/$n/checkpoints" "$T/$n-out/dir"
	head -c 5000 /dev/urandom >"$T/$n-out/weights.bin"
	head -c 5000 /dev/urandom >"$T/$n-out/dir/model.bin"
	ln -s "$T/$n-out/weights.bin" "$T/$n/checkpoints/epoch=99.ckpt"
	ln -s "$T/$n-out/dir" "$T/$n/checkpoints/epoch=98.ckpt"
	out_before=$(listing "$T/$n-out"; md5sum "$T/$n-out/weights.bin" "$T/$n-out/dir/model.bin")
	start "$n"
	run "$SIM" "$CSV" "$T/$n" --after "$(after "$n")"
	eq "symlinks ($action): job stopped after epoch 11" "$out" "stopped after epoch 11"
	# the best metrics ever, for the keys the symlinks are named after
	echo "98,0.05,0.10,0.99,0.99,0.99" >>"$T/$n/metrics.csv"
	echo "99,0.05,0.10,0.99,0.99,0.99" >>"$T/$n/metrics.csv"
	"$WAIT" "$(state "$n")" 99 || not_ok "symlinks ($action): records 98, 99 seen (timed out)"
	settle "$n"
	eq "symlinks ($action): best.ckpt -> epoch=8.ckpt" "$(best "$n")" "epoch=8.ckpt"
	eq "symlinks ($action): the links are still there" \
		"$(readlink "$T/$n/checkpoints/epoch=98.ckpt")|$(readlink "$T/$n/checkpoints/epoch=99.ckpt")" \
		"$T/$n-out/dir|$T/$n-out/weights.bin"
	eq "symlinks ($action): exactly 8, 9, 11 and the links remain" "$(remaining "$n")" \
		"epoch=8.ckpt epoch=9.ckpt epoch=11.ckpt epoch=98.ckpt epoch=99.ckpt "
	eq "symlinks ($action): their targets are untouched" \
		"$(listing "$T/$n-out"; md5sum "$T/$n-out/weights.bin" "$T/$n-out/dir/model.bin")" "$out_before"
	eq "symlinks ($action): no event names them" "$(events "$n" | grep -c 'epoch=9[89]')" 0
	eq "symlinks ($action): nothing of them archived" "$(ls -A "$T/$n/archive" 2>/dev/null | grep -c 'epoch=9[89]')" 0
	stop
done

# --- --dry-run over a finished run: nothing in the run dir changes; the
# log says what it would do
config dry delete
run "$SIM" "$CSV" "$T/dry"      # a finished run: 15 epochs, no daemon
eq "dry-run: the job ran all 15 epochs" "$(ls "$T/dry/checkpoints" | wc -l)" 15
before=$(listing "$T/dry")
start dry --dry-run
wait_until 15 'grep -q "would stop" "$T/dry.log" && grep -q "would prune" "$T/dry.log"'
sleep 0.3
stop
eq "dry-run: the run dir is unchanged (names, sizes, mtimes, ctimes)" "$(listing "$T/dry")" "$before"
l=$(cat "$T/dry.log")
has "dry-run: logs would promote" "would promote epoch=8.ckpt" "$l"
has "dry-run: logs would prune" "would prune epoch=1.ckpt" "$l"
has "dry-run: logs would stop" "would stop" "$l"
eq "dry-run: no STOP file, no best.ckpt" "$(ls "$T/dry" "$T/dry/checkpoints" | grep -c 'STOP\|best')" 0

# --- pins set and taken away with ckptctl while the daemon runs
config pin delete
start pin
run "$SIM" "$(seg 1 2)" "$T/pin" --after "$(after pin)"
settle pin
expect_rc "pin: ckptctl pin exits 0" 0 "$CTL" pin -c "$T/pin.yaml" clinic07 1
sleep 1   # the daemon picks the change up within a second
run "$SIM" "$(seg 3 15)" "$T/pin" --after "$(after pin)"
eq "pin: job stopped after epoch 11" "$out" "stopped after epoch 11"
settle pin
eq "pin: the pinned epoch 1 survives" "$(remaining pin)" "epoch=1.ckpt epoch=8.ckpt epoch=9.ckpt epoch=11.ckpt "
eq "pin: no pruned event for it" "$(events pin | grep '"pruned"' | grep -c '"key": *1,')" 0
expect_rc "pin: ckptctl unpin exits 0" 0 "$CTL" unpin -c "$T/pin.yaml" clinic07 1
t0=$(date +%s%N)
if wait_until 5 '[ ! -e "$T/pin/checkpoints/epoch=1.ckpt" ]'; then
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ "$ms" -le 1500 ]; then ok "pin: unpinned, it is pruned (${ms} ms)"; else
		not_ok "pin: unpinned, it is pruned within a second" "took ${ms} ms"; fi
else
	not_ok "pin: unpinned, it is pruned within a second" "still there after 5 s: $(remaining pin)" "$(tail -3 "$T/pin.log")"
fi
settle pin
eq "pin: then exactly 8, 9, 11 remain" "$(remaining pin)" "epoch=8.ckpt epoch=9.ckpt epoch=11.ckpt "
eq "pin: one pruned event per key" "$(dup_keys pin pruned)" ""
stop

done_testing
