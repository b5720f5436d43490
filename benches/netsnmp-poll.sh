#!/usr/bin/env bash
# The C reference for the collector's poll rate: net-snmp's snmpget and snmpbulkwalk read the
# same objects the collector's generic profile reads (`fleet-collector profiles plan`), from
# the same simulated devices, with the same parallelism across devices.
#
#   benches/netsnmp-poll.sh BASE DEVICES PORT PARALLEL
#   benches/netsnmp-poll.sh 127.6.0.1 1000 1161 64
set -euo pipefail
base="${1:-127.6.0.1}" devices="${2:-1000}" port="${3:-1161}" parallel="${4:-64}"
collector="${FLEET_COLLECTOR:-target/release/fleet-collector}"

plan="$("$collector" profiles plan)"
gets="$(awk '$1 == "get" { printf "%s ", $2 }' <<<"$plan")"
walks="$(awk '$1 == "walk" { printf "%s ", $2 }' <<<"$plan")"
export gets walks port

poll_one() {
    local host="$1"
    # shellcheck disable=SC2086
    snmpget -v2c -c public -On -t 2 -r 2 "$host:$port" 1.3.6.1.2.1.1.2.0 1.3.6.1.2.1.1.3.0 $gets >/dev/null
    for w in $walks; do
        snmpbulkwalk -v2c -c public -On -Cr20 -t 2 -r 2 "$host:$port" "$w" >/dev/null
    done
}
export -f poll_one

IFS=. read -r a b c d <<<"$base"
start=$(( (a << 24) | (b << 16) | (c << 8) | d ))
hosts() {
    for ((i = 0; i < devices; i++)); do
        n=$((start + i))
        echo "$(( (n >> 24) & 255 )).$(( (n >> 16) & 255 )).$(( (n >> 8) & 255 )).$(( n & 255 ))"
    done
}
began=$(date +%s.%N)
hosts | xargs -P "$parallel" -I{} bash -c 'poll_one {}'
ended=$(date +%s.%N)
echo "net-snmp: $devices devices, $parallel in parallel: $(echo "$ended - $began" | bc) s"
