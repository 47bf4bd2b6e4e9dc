#!/bin/bash
# wait-state.sh STATE_JSON KEY [NAME] [TIMEOUT_S]: wait until the daemon's
# state.json says it has merged the record KEY (and, with NAME, seen the
# checkpoint NAME), so a simulated job can go on in step with the daemon.
# Exits 1 on timeout.
f=$1 key=$2 name=${3:-} timeout=${4:-10}
end=$((SECONDS + timeout))
while [ $SECONDS -lt $end ]; do
	if [ -f "$f" ] && grep -q "\"latest\": *$key," "$f" &&
		{ [ -z "$name" ] || grep -qF "\"name\": \"$name\"" "$f"; }; then
		exit 0
	fi
	sleep 0.05
done
echo "wait-state: timed out waiting for $key ${name:+($name) }in $f" >&2
exit 1
