#!/bin/bash
# Bad input, item by item (issue 4, part 5): garbage in logs, hostile
# numbers and JSON, odd files where logs and checkpoints should be, and
# configs built to hurt.  The standard: a clear, located error and never a
# crash; a garbage log line is skipped and counted; a checkpoint the daemon
# cannot read is left alone.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/clinic.bash"
# the read-only bind mount below must not outlive the test
trap 'umount "$T/ro/checkpoints" 2>/dev/null; cleanup' EXIT

BY="--by val_sensitivity:max"
# the clinic table as JSON lines
awk -F, 'NR > 1 { printf "{\"epoch\": %s, \"train_loss\": %s, \"val_loss\": %s, \"val_accuracy\": %s, \"val_sensitivity\": %s, \"val_specificity\": %s}\n", $1, $2, $3, $4, $5, $6 }' \
	"$CSV" >"$T/m.jsonl"
# pick_sel NAME FILE [WANT]: pick selects WANT (8) from FILE, exit 0, and
# never says it crashed
pick_sel() {
	run timeout 10 "$CTL" pick $BY "$2"
	eq "$1: exit 0" "$rc" 0
	eq "$1: selects epoch ${3:-8}" "$(printf '%s\n' "$out" | head -n 1)" "selected_epoch: ${3:-8}"
}
# valid_utf8 TEXT: 0 when TEXT is valid UTF-8 (strict JSON must be)
valid_utf8() { printf '%s' "$1" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1; }
MIB10=$((10 * 1024 * 1024))

# --- 1. binary garbage and NUL bytes among the rows
{ sed -n 1,5p "$CSV"; printf 'garbage\000\001\377\376 line\n'; printf '\000\000\000\n'
  head -c 300 /dev/urandom | tr -d '\n,'; echo; sed -n '6,$p' "$CSV"; } >"$T/garbage.csv"
pick_sel "garbage csv" "$T/garbage.csv"
has "garbage csv: the 3 garbage rows are counted" "3 row(s) without a usable epoch" "$err"
{ sed -n 1,3p "$T/m.jsonl"; printf '{"epoch": 4\000, "val_sensitivity": 9}\n'; printf '\000\000\000\n'
  head -c 300 /dev/urandom | tr -d '\n'; echo; sed -n '4,$p' "$T/m.jsonl"; } >"$T/garbage.jsonl"
pick_sel "garbage jsonl" "$T/garbage.jsonl"
has "garbage jsonl: the 3 garbage lines are counted" "skipped 3 unparsable line(s)" "$err"
run "$CTL" pick $BY --json "$T/garbage.jsonl"
eq "garbage jsonl: input.bad_lines" "$(jval "$out" bad_lines)" 3
eq "garbage jsonl: 15 records" "$(jval "$out" records)" 15

# --- 2. CRLF line endings, 3. a UTF-8 BOM (both, and each alone)
sed 's/$/\r/' "$CSV" >"$T/crlf.csv"
pick_sel "crlf csv" "$T/crlf.csv"
eq "crlf csv: nothing skipped" "$err" ""
sed 's/$/\r/' "$T/m.jsonl" >"$T/crlf.jsonl"
pick_sel "crlf jsonl" "$T/crlf.jsonl"
{ printf '\357\273\277'; cat "$CSV"; } >"$T/bom.csv"
pick_sel "bom csv" "$T/bom.csv"
run "$CTL" pick $BY --json "$T/bom.csv"
has "bom csv: the first column is still the epoch" '"records": 15' "$out"
{ printf '\357\273\277'; cat "$T/crlf.jsonl"; } >"$T/bom.jsonl"
pick_sel "bom+crlf jsonl" "$T/bom.jsonl"

# --- 4. 10 MiB lines: one warning naming the line, the good rows count
{ sed -n 1,5p "$CSV"; head -c $MIB10 /dev/zero | tr '\0' 'x'; echo; sed -n '6,$p' "$CSV"; } >"$T/long.csv"
pick_sel "10 MiB csv line" "$T/long.csv"
eq "10 MiB csv line: one warning, located" "$(printf '%s\n' "$err" | grep -c warning)" 1
has "10 MiB csv line: at line 6" "long.csv:6: warning: line longer than 1 MiB skipped" "$err"
run "$CTL" pick $BY --json "$T/long.csv"
eq "10 MiB csv line: 15 records" "$(jval "$out" records)" 15
eq "10 MiB csv line: long_lines 1" "$(jval "$out" long_lines)" 1
{ sed -n 1,4p "$T/m.jsonl"; printf '{"epoch": 5, "val_sensitivity": 9, "pad": "'
  head -c $MIB10 /dev/zero | tr '\0' 'x'; echo '"}'; sed -n '5,$p' "$T/m.jsonl"; } >"$T/long.jsonl"
pick_sel "10 MiB jsonl line" "$T/long.jsonl"
has "10 MiB jsonl line: at line 5" "long.jsonl:5: warning: line longer than 1 MiB skipped" "$err"
# unterminated at the end of the file
{ cat "$CSV"; head -c $MIB10 /dev/zero | tr '\0' '7'; } >"$T/longtail.csv"
pick_sel "10 MiB unterminated last line" "$T/longtail.csv"
has "10 MiB unterminated last line: warned" "longtail.csv:17: warning: line longer than 1 MiB" "$err"

# --- 5. 1e400 (+inf: never selected) and -0 (is 0)
awk -F, 'BEGIN { OFS = "," } NR == 4 { $5 = "1e400" } NR == 6 { $3 = "-0" } { print }' "$CSV" >"$T/num.csv"
pick_sel "1e400 csv: never selected" "$T/num.csv"
run "$CTL" pick --by val_loss:min --json "$T/num.csv"
eq "-0 csv: selected as the lowest loss" "$(jval "$out" selected)" 5
eq "-0 csv: value is 0" "$(jval "$out" value)" 0
sed 's/"val_sensitivity": 0.670/"val_sensitivity": 1e400/; s/"val_loss": 0.528/"val_loss": -0.0/' "$T/m.jsonl" >"$T/num.jsonl"
pick_sel "1e400 jsonl: never selected" "$T/num.jsonl"
run "$CTL" pick --by val_loss:min --json "$T/num.jsonl"
eq "-0.0 jsonl: selected as the lowest loss" "$(jval "$out" selected)" 4
eq "-0.0 jsonl: value is 0" "$(jval "$out" value)" 0
# the 1e400 epoch, made the last one: non-finite, printed as null
awk -F, 'BEGIN { OFS = "," } NR == 16 { $5 = "1e400" } { print }' "$CSV" >"$T/inf.csv"
run "$CTL" pick $BY --json "$T/inf.csv"
eq "1e400 is non-finite: null in JSON" "$(printf '%s\n' "$out" | sed -n '/"last_metrics"/,/}/p' | grep -c '"val_sensitivity": null')" 1
run "$CTL" pick $BY "$T/inf.csv"
has "1e400: the last epoch is not scored" "why not the last epoch (15): it is not scored" "$out"

# --- 6. 100000 levels of nested JSON: one bad line each, fast
{ sed -n 1,4p "$T/m.jsonl"
  printf '{"epoch": 5, "a": '; head -c 100000 /dev/zero | tr '\0' '['; head -c 100000 /dev/zero | tr '\0' ']'; echo '}'
  printf '{"epoch": 6, "a": '; yes '{"x":' | head -n 100000 | tr -d '\n'; printf 1
  head -c 100001 /dev/zero | tr '\0' '}'; echo; sed -n '5,$p' "$T/m.jsonl"; } >"$T/deep.jsonl"
pick_sel "deep json" "$T/deep.jsonl"
has "deep json: two bad lines" "skipped 2 unparsable line(s)" "$err"

# --- 7. duplicate keys: the later one wins, as Python's json and csv do
sed '3s/}$/, "val_sensitivity": 0.99}/' "$T/m.jsonl" >"$T/dup.jsonl"
pick_sel "duplicate jsonl member: the later wins" "$T/dup.jsonl" 3
sed '3s/^{/{"val_sensitivity": 0.99, /' "$T/m.jsonl" >"$T/dup2.jsonl"
pick_sel "duplicate jsonl member: the earlier loses" "$T/dup2.jsonl" 8
{ sed -n 1p "$CSV" | sed 's/$/,val_sensitivity/'; sed -n '2,$p' "$CSV" | awk -F, '{ print $0 "," ($1 == 3 ? 0.99 : 0.01) }'; } >"$T/dup.csv"
pick_sel "duplicate csv column: the later wins" "$T/dup.csv" 3

# --- 8. non-UTF-8 names: output stays valid UTF-8 (bad bytes -> U+FFFD)
sed 's/^{/{"val_\xff\xfeloss": 1.5, "a\\u0000b": 2, /' "$T/m.jsonl" >"$T/latin.jsonl"
pick_sel "non-UTF-8 jsonl key" "$T/latin.jsonl"
run "$CTL" pick $BY --json "$T/latin.jsonl"
if valid_utf8 "$out"; then ok "non-UTF-8 jsonl key: --json is valid UTF-8"; else
	not_ok "non-UTF-8 jsonl key: --json is valid UTF-8" "$(printf '%s' "$out" | grep -a loss | cat -v)"; fi
has "non-UTF-8 jsonl key: shown with U+FFFD" '"val_��loss": 1.5' "$out"
sed '1s/val_accuracy/val_\xe9acc/' "$CSV" >"$T/latin.csv"
pick_sel "non-UTF-8 csv header" "$T/latin.csv"
run "$CTL" pick $BY --json "$T/latin.csv"
if valid_utf8 "$out"; then ok "non-UTF-8 csv header: --json is valid UTF-8"; else
	not_ok "non-UTF-8 csv header: --json is valid UTF-8" "$(printf '%s' "$out" | grep -a acc | cat -v)"; fi
has "non-UTF-8 csv header: shown with U+FFFD" '"val_�acc": 0.805' "$out"

# --- 9. a header-only csv, an empty one: nothing to select (65), said so
head -n 1 "$CSV" >"$T/header.csv"
expect_rc "header-only csv: exit 65" 65 timeout 10 "$CTL" pick "$T/header.csv"
has "header-only csv: says why" "header.csv: no records" "$err"
: >"$T/empty.csv"
expect_rc "empty csv: exit 65" 65 timeout 10 "$CTL" pick "$T/empty.csv"
# and a key that overflows int64 is no key, not a wrapped one
{ cat "$CSV"; echo '99999999999999999999999,0.1,0.1,0.9,0.99,0.9'; echo '1e30,0.1,0.1,0.9,0.99,0.9'; } >"$T/bigkey.csv"
pick_sel "csv keys beyond int64" "$T/bigkey.csv"
has "csv keys beyond int64: counted" "2 row(s) without a usable epoch" "$err"

# --- 10. a log that is a directory
expect_rc "pick on a directory: exit 66" 66 "$CTL" pick "$T"
has "pick on a directory: says so" "Is a directory" "$err"
config_plain dirlog delete
"$SIM" "$CSV" "$T/dirlog" >/dev/null
mv "$T/dirlog/metrics.csv" "$T/dirlog.csv" && mkdir "$T/dirlog/metrics.csv"
run timeout 10 "$CKPTD" -c "$T/dirlog.yaml" --once
eq "dir log --once: exit 74 (I/O error)" "$rc" 74
has "dir log --once: names the path" "$T/dirlog/metrics.csv: Is a directory" "$err"
eq "dir log --once: no checkpoint touched" "$(ls "$T/dirlog/checkpoints" | wc -l)" 15
start dirlog
wait_until 5 "grep -q 'watching 1 run' '$T/dirlog.log'"
has "dir log daemon: warns, once" "$T/dirlog/metrics.csv is a directory, not a log" "$(cat "$T/dirlog.log")"
if kill -0 "$dpid" 2>/dev/null; then ok "dir log daemon: keeps running"; else not_ok "dir log daemon: keeps running"; fi
rmdir "$T/dirlog/metrics.csv" && mv "$T/dirlog.csv" "$T/dirlog/metrics.csv"
wait_until 5 "[ \"\$(best dirlog)\" = epoch=8.ckpt ]"
eq "dir log daemon: the real log, once there, is read" "$(best dirlog)" "epoch=8.ckpt"
stop

# --- 11. an unreadable log, and unreadable checkpoints (as nobody: root
# reads anything)
asuser=""
if [ "$(id -u)" -ne 0 ]; then asuser=" "
elif setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
	asuser="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi
if [ -z "$asuser" ]; then
	echo "# SKIP unreadable log/checkpoints: root, and setpriv cannot drop to uid 65534"
else
	chmod 755 "$T"
	config_plain unr delete
	"$SIM" "$CSV" "$T/unr" >/dev/null
	mkdir -p "$T/unr-state"
	[ "$(id -u)" -eq 0 ] && chown -R 65534:65534 "$T/unr-state" "$T/unr/checkpoints"
	chmod 000 "$T/unr/metrics.csv"
	run timeout 10 $asuser "$CKPTD" -c "$T/unr.yaml" --once
	eq "unreadable log --once: exit 74" "$rc" 74
	has "unreadable log --once: names the path" "$T/unr/metrics.csv: Permission denied" "$err"
	eq "unreadable log --once: no checkpoint touched" "$(ls "$T/unr/checkpoints" | wc -l)" 15
	run timeout 10 $asuser "$CTL" pick "$T/unr/metrics.csv"
	eq "unreadable log pick: exit 66" "$rc" 66
	has "unreadable log pick: says so" "Permission denied" "$err"
	# readable log, but the best checkpoint (8) and another (3) unreadable:
	# neither promoted nor pruned
	chmod 644 "$T/unr/metrics.csv"
	[ "$(id -u)" -eq 0 ] && chown 0:0 "$T/unr/checkpoints/epoch=3.ckpt" "$T/unr/checkpoints/epoch=8.ckpt"
	chmod 000 "$T/unr/checkpoints/epoch=3.ckpt" "$T/unr/checkpoints/epoch=8.ckpt"
	run timeout 10 $asuser "$CKPTD" -c "$T/unr.yaml" --once
	eq "unreadable checkpoints: exit 0" "$rc" 0
	eq "unreadable checkpoints: best is the best readable one" "$(best unr)" "epoch=9.ckpt"
	eq "unreadable checkpoints: left alone (7 and 9 are the top 2 now)" "$(remaining unr)" \
		"epoch=3.ckpt epoch=7.ckpt epoch=8.ckpt epoch=9.ckpt epoch=15.ckpt "
	chmod 700 "$T"
fi

# --- 12. a read-only checkpoints dir (a read-only bind mount)
config_plain ro delete
"$SIM" "$CSV" "$T/ro" >/dev/null
if [ "$(id -u)" -eq 0 ] && mount --bind -o ro "$T/ro/checkpoints" "$T/ro/checkpoints" 2>/dev/null &&
	! touch "$T/ro/checkpoints/.w" 2>/dev/null; then
	# a symlink promotion fails first: nothing is pruned in that pass
	run timeout 10 "$CKPTD" -c "$T/ro.yaml" --once
	has "read-only, symlink: promotion fails, said" "promoting epoch=8.ckpt as best.ckpt: Read-only file system" "$err"
	eq "read-only, symlink: every checkpoint stays" "$(ls "$T/ro/checkpoints" | wc -l)" 15
	# promoted by copy elsewhere: each prune fails with an event, files stay
	mkdir -p "$T/ro-deploy"
	sed -i "s|    retain:|    promote: {method: copy, to: $T/ro-deploy}\n    retain:|" "$T/ro.yaml"
	start ro
	# a failed prune backs off (1 s doubling) and raises its event once
	wait_until 10 "[ \$(count_events ro prune_failed) -ge 1 ]"
	sleep 1.5
	eq "read-only, copy: prune_failed raised, once per checkpoint" "$(dup_keys ro prune_failed)" ""
	has "read-only, copy: the event says why" "delete epoch=1.ckpt: Read-only file system" "$(events ro)"
	eq "read-only, copy: every original stays" "$(ls "$T/ro/checkpoints" | wc -l)" 15
	eq "read-only, copy: promoted to the deploy dir" "$(count_events ro promoted)" 1
	if kill -0 "$dpid" 2>/dev/null; then ok "read-only: the daemon keeps running"; else
		not_ok "read-only: the daemon keeps running" "$(cat "$T/ro.log")"; fi
	stop
	umount "$T/ro/checkpoints"
else
	echo "# SKIP read-only checkpoints dir: not root, or no read-only bind mount here"
fi

# --- 13. a checkpoint file replaced by a directory of the same name
config_plain swap delete
sed -i 's|pattern: "epoch={epoch}.ckpt"}|pattern: "epoch={epoch}.ckpt", ready: "settle:300ms"}|' "$T/swap.yaml"
"$SIM" "$CSV" "$T/swap" >/dev/null
start swap
wait_until 10 "[ \"\$(best swap)\" = epoch=8.ckpt ] && [ \"\$(remaining swap)\" = 'epoch=8.ckpt epoch=9.ckpt epoch=15.ckpt ' ]"
eq "swap: settled on 8" "$(best swap)" "epoch=8.ckpt"
for k in 8 15; do
	rm "$T/swap/checkpoints/epoch=$k.ckpt"
	mkdir "$T/swap/checkpoints/epoch=$k.ckpt" && echo w >"$T/swap/checkpoints/epoch=$k.ckpt/model.bin"
done
wait_until 10 "[ \$(count_events swap promoted) -ge 3 ]"
settle swap
if kill -0 "$dpid" 2>/dev/null; then ok "swap: the daemon keeps running"; else
	not_ok "swap: the daemon keeps running" "$(cat "$T/swap.log")"; fi
eq "swap: promotions 8, then 9 while 8 is away, then the directory 8" "$(keys_of swap promoted)" "8 9 8 "
eq "swap: best.ckpt -> the directory" "$(best swap)" "epoch=8.ckpt"
[ -d "$T/swap/checkpoints/epoch=15.ckpt" ] && [ -f "$T/swap/checkpoints/epoch=8.ckpt/model.bin" ]
eq "swap: both directories intact" "$?" 0
eq "swap: nothing more pruned" "$(count_events swap pruned)" 12
stop

# --- 14. checkpoint names whose epoch overflows: ignored, never wrapped
config_plain huge delete
"$SIM" "$CSV" "$T/huge" >/dev/null
for n in 99999999999999999999999 9223372036854775808 18446744073709551617 18446744073709551624; do
	echo big >"$T/huge/checkpoints/epoch=$n.ckpt"
done
run timeout 10 "$CKPTD" -c "$T/huge.yaml" --once
eq "huge epochs: exit 0" "$rc" 0
eq "huge epochs: best is 8" "$(best huge)" "epoch=8.ckpt"
eq "huge epochs: all four left alone" "$(ls "$T/huge/checkpoints" | grep -c '[0-9]\{19\}')" 4
eq "huge epochs: not checkpoints of the run" "$(grep -c '"name": "epoch=[0-9]\{19\}' "$(state huge)")" 0
eq "huge epochs: the newest kept is still 15" "$(remaining huge | tr ' ' '\n' | grep -v '[0-9]\{19\}' | tr '\n' ' ')" "epoch=8.ckpt epoch=9.ckpt epoch=15.ckpt "

# --- 15. configs: each exits 78 with FILE:LINE:COLUMN, fast
# bad_cfg NAME WHERE TEXT: checks $T/NAME.yaml
bad_cfg() {
	local f="$T/$1.yaml"
	run timeout 10 "$CTL" check -c "$f"
	eq "config $1: exit 78" "$rc" 78
	has "config $1: located at $2" "$f:$2: error: $3" "$err"
}
: >"$T/empty.yaml"
bad_cfg empty 1:1 "the file is empty"
printf '# nothing\n' >"$T/comment.yaml"
bad_cfg comment 1:1 "the file is empty"
printf -- '- a\n- b\n' >"$T/list.yaml"
bad_cfg list 1:1 "the configuration must be a mapping with a 'runs' list, got a list"
printf 'hello\n' >"$T/scalar.yaml"
bad_cfg scalar 1:1 "the configuration must be a mapping with a 'runs' list, got a string"
{ printf 'runs: '; head -c 100000 /dev/zero | tr '\0' '['; head -c 100000 /dev/zero | tr '\0' ']'; echo; } >"$T/nested.yaml"
bad_cfg nested 1:70 "nesting deeper than 64 levels"
{ printf 'runs:\n'; for i in $(seq 2000); do printf '%*s- \n' $((i * 2)) ''; done; } >"$T/nested2.yaml"
bad_cfg nested2 65:129 "nesting deeper than 64 levels"
{ printf 'state_dir: '; head -c 100000 /dev/zero | tr '\0' '{'; echo; } >"$T/unclosed.yaml"
bad_cfg unclosed 1:75 "nesting deeper than 64 levels"
cat >"$T/laughs.yaml" <<'EOF'
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
runs: *i
EOF
bad_cfg laughs 1:50 "aliases expand to more than 100000 nodes; refusing what looks like an alias bomb"
printf 'runs: &a [*a]\n' >"$T/selfalias.yaml"
bad_cfg selfalias 1:7 "nesting deeper than 64 levels"
printf 'runs: *nope\n' >"$T/noalias.yaml"
bad_cfg noalias 1:7 "found undefined alias"
printf 'runs:\n  - name: a\377\n' >"$T/latin.yaml"
bad_cfg latin 2:12 "invalid leading UTF-8 octet"
printf 'runs:\n  - name: a\000b\n' >"$T/nul.yaml"
bad_cfg nul 2:12 "control characters are not allowed"
printf 'a: 1\n---\nb: 2\n' >"$T/twodocs.yaml"
bad_cfg twodocs 2:1 "only one YAML document"
# a BOM and CRLF in a config are fine
printf '\357\273\277runs:\r\n  - name: a\r\n    dir: /tmp/x\r\n    metrics: {path: m.csv}\r\n    checkpoints: {pattern: "e={epoch}.ckpt"}\r\n' >"$T/bomcrlf.yaml"
expect_rc "config with BOM and CRLF: ok" 0 timeout 10 "$CTL" check -c "$T/bomcrlf.yaml"
# 10,000 runs: ok, quickly; one duplicate among them found and placed
awk -v d="$T/many" 'BEGIN { print "runs:"; for (i = 1; i <= 10000; i++)
	printf "  - name: run%d\n    dir: %s/run%d\n    metrics: {path: metrics.csv}\n    checkpoints: {pattern: \"epoch={epoch}.ckpt\"}\n", i, d, i }' >"$T/many.yaml"
t0=$(date +%s%N)
run timeout 10 "$CTL" check -c "$T/many.yaml"
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# ckptctl check on 10,000 runs: $ms ms"
eq "10,000 runs: ok" "$out" "ok"
if [ "$ms" -lt 3000 ]; then ok "10,000 runs: under 3 s"; else not_ok "10,000 runs: under 3 s" "$ms ms"; fi
printf '  - name: run77\n    dir: /tmp/y\n    metrics: {path: m.csv}\n    checkpoints: {pattern: "e={epoch}.ckpt"}\n' >>"$T/many.yaml"
bad_cfg many 40002:11 "duplicate run name 'run77' (first at line 306)"

done_testing
