# Sourced by tests/nat/*.sh: a test network of network namespaces, NATs and
# a TURN server, built for one test run and removed when it exits.
#
#   nat_require            root and the tools, or exit 77 (skip) with the reason;
#                          under CI=true a missing piece is a failure (exit 1)
#   nat_build              the network below; NAT_ID names this run's namespaces
#   in_ns NAME CMD...      run CMD inside namespace NAME
#   nat_turn_start [MODE]  coturn in "pub": MODE static (user test:test, default),
#                          rest (use-auth-secret), or quota (one allocation per user)
#   nat_turn_stop          stop it (by PID)
#   nat_flush NAME         forget the connection tracking of NAT box NAME (new mappings)
#   nat_block NAME / nat_unblock NAME   drop / pass everything NAT box NAME forwards (an outage)
#
# The network (nothing in it is connected to the host's own namespace):
#
#   pub      203.0.113.1/24  the "internet": a bridge, coturn (3478 UDP/TCP,
#                            5349 TLS), the signaling server
#   pubhost  203.0.113.50    a host on the internet, no NAT
#   natA     203.0.113.10 -> 10.0.1.0/24: MASQUERADE (port-preserving, "cone-like")
#            a1 10.0.1.2, a2 10.0.1.3
#   natB     203.0.113.20 -> 10.0.2.0/24: MASQUERADE; b1 10.0.2.2, b2 10.0.2.3
#   natS     203.0.113.30 -> 10.0.3.0/24: SNAT --random-fully for UDP (symmetric:
#            a new port per destination); s1 10.0.3.2
#   natU     203.0.113.40 -> 10.0.4.0/24: MASQUERADE, UDP out dropped; u1 10.0.4.2
#
# Private addresses are not routed on the internet: hosts behind different
# NATs reach each other only through their NATs' public addresses.

NAT_PUB_IP=203.0.113.1
NAT_TURN_USER=test
NAT_TURN_PASS=test
NAT_TURN_REALM=nat.test
NAT_TURN_SECRET=nat-secret

nat_skip() { # why: exit 77, or 1 under CI (tests/support/skip.sh)
  pm_skip "nat tests: $1"
}

nat_require() {
  [ "$(id -u)" -eq 0 ] || nat_skip "need root (network namespaces, iptables)"
  local tool
  for tool in ip iptables conntrack turnserver turnutils_stunclient openssl python3; do
    command -v "$tool" >/dev/null 2>&1 ||
      nat_skip "$tool is not installed (scripts/install-deps.sh interop)"
  done
  local probe="pmprobe$$"
  ip netns add "$probe" 2>/dev/null || nat_skip "cannot create network namespaces here"
  if ! ip netns exec "$probe" iptables -t nat -A POSTROUTING -j MASQUERADE 2>/dev/null; then
    ip netns del "$probe"
    nat_skip "iptables NAT does not work in a network namespace here"
  fi
  ip netns del "$probe"
}

in_ns() { # name cmd...
  local n=$1
  shift
  ip netns exec "$NAT_ID-$n" "$@"
}

nat_ns() { # name
  ip netns add "$NAT_ID-$1"
  NAT_NAMESPACES+=("$NAT_ID-$1")
  ip -n "$NAT_ID-$1" link set lo up
}

# nat_link NS1 IF1 NS2 IF2: a veth pair between two namespaces, both ends up.
nat_link() {
  ip link add "$2" netns "$NAT_ID-$1" type veth peer name "$4" netns "$NAT_ID-$3"
  ip -n "$NAT_ID-$1" link set "$2" up
  ip -n "$NAT_ID-$3" link set "$4" up
}

# nat_box NAME TYPE WAN_IP LAN_PREFIX: a NAT between the internet and 10.0.X.0/24.
nat_box() {
  local name=$1 type=$2 wan=$3 lan=$4
  nat_ns "$name"
  nat_link pub "v$name" "$name" wan0
  ip -n "$NAT_ID-pub" link set "v$name" master pubbr
  ip -n "$NAT_ID-$name" addr add "$wan/24" dev wan0
  ip -n "$NAT_ID-$name" link add lanbr type bridge
  ip -n "$NAT_ID-$name" link set lanbr up
  ip -n "$NAT_ID-$name" addr add "$lan.1/24" dev lanbr
  in_ns "$name" sysctl -qw net.ipv4.ip_forward=1
  # Unsolicited packets from the internet are dropped before conntrack
  # confirms an entry for them: such a stale entry would take the mapping's
  # place and break simultaneous hole punching (as no real NAT does).
  in_ns "$name" iptables -A INPUT -i wan0 -m conntrack --ctstate NEW,INVALID -j DROP
  # TCP segments conntrack judges out of window would reach the box itself
  # un-NATed and be answered with a reset, killing TURN-over-TCP sessions
  # under load; real NATs are not that strict.
  in_ns "$name" sysctl -qw net.netfilter.nf_conntrack_tcp_be_liberal=1
  case $type in
    cone)
      in_ns "$name" iptables -t nat -A POSTROUTING -o wan0 -j MASQUERADE ;;
    symmetric)
      in_ns "$name" iptables -t nat -A POSTROUTING -o wan0 -p udp -j SNAT --to-source "$wan" \
        --random-fully
      in_ns "$name" iptables -t nat -A POSTROUTING -o wan0 -j MASQUERADE ;;
    noudp)
      in_ns "$name" iptables -t nat -A POSTROUTING -o wan0 -j MASQUERADE
      in_ns "$name" iptables -A FORWARD -i lanbr -p udp -j DROP ;;
  esac
}

# nat_host NAME NAT IP: a host on a NAT's LAN, default route through it.
nat_host() {
  local name=$1 nat=$2 ip=$3
  nat_ns "$name"
  nat_link "$nat" "v$name" "$name" eth0
  ip -n "$NAT_ID-$nat" link set "v$name" master lanbr
  ip -n "$NAT_ID-$name" addr add "$ip/24" dev eth0
  ip -n "$NAT_ID-$name" route add default via "${ip%.*}.1"
}

nat_teardown() {
  local ns pid
  for ns in "${NAT_NAMESPACES[@]:-}"; do
    [ -n "$ns" ] || continue
    # Anything still running in a namespace of this run was started by it.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      kill "$pid" 2>/dev/null
    done
  done
  for ns in "${NAT_NAMESPACES[@]:-}"; do
    [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
  done
  NAT_NAMESPACES=()
}

nat_build() {
  NAT_ID="pmnat$$"
  NAT_NAMESPACES=()
  nat_ns pub
  ip -n "$NAT_ID-pub" link add pubbr type bridge
  ip -n "$NAT_ID-pub" link set pubbr up
  ip -n "$NAT_ID-pub" addr add "$NAT_PUB_IP/24" dev pubbr
  # Like the internet, the server's network drops packets to private
  # addresses silently (a relayed check to a peer's host candidate); without
  # a route sendto fails, and coturn closes a TCP client's whole allocation.
  ip -n "$NAT_ID-pub" link add void0 type veth peer name void1
  ip -n "$NAT_ID-pub" link set void0 up
  ip -n "$NAT_ID-pub" link set void1 up
  ip -n "$NAT_ID-pub" route add default dev void0
  nat_ns pubhost
  nat_link pub vpubhost pubhost eth0
  ip -n "$NAT_ID-pub" link set vpubhost master pubbr
  ip -n "$NAT_ID-pubhost" addr add 203.0.113.50/24 dev eth0
  nat_box natA cone 203.0.113.10 10.0.1
  nat_box natB cone 203.0.113.20 10.0.2
  nat_box natS symmetric 203.0.113.30 10.0.3
  nat_box natU noudp 203.0.113.40 10.0.4
  nat_host a1 natA 10.0.1.2
  nat_host a2 natA 10.0.1.3
  nat_host b1 natB 10.0.2.2
  nat_host b2 natB 10.0.2.3
  nat_host s1 natS 10.0.3.2
  nat_host u1 natU 10.0.4.2
}

nat_flush() { # NAT box name
  in_ns "$1" conntrack -F >/dev/null 2>&1
}

nat_block() { # NAT box name
  in_ns "$1" iptables -I FORWARD 1 -j DROP
}

nat_unblock() { # NAT box name
  in_ns "$1" iptables -D FORWARD -j DROP
}

# A CA and a server certificate for 203.0.113.1 signed by it: peers verify
# the TLS TURN server against $NAT_CA (SSL_CERT_FILE) as against a real CA.
nat_certs() {
  local d=$1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=peermesh test CA" -keyout "$d/ca.key" -out "$d/ca.pem" >/dev/null 2>&1 &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -subj "/CN=$NAT_PUB_IP" -keyout "$d/server.key" -out "$d/server.csr" >/dev/null 2>&1 &&
    printf 'subjectAltName=IP:%s\n' "$NAT_PUB_IP" >"$d/san.ext" &&
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
      -CAcreateserial -days 2 -extfile "$d/san.ext" -out "$d/server.pem" >/dev/null 2>&1
  NAT_CA=$d/ca.pem
}

nat_turn_start() { # [static|rest|quota] [PORT] [TLS_PORT]
  local mode=${1:-static} port=${2:-3478} tls_port=${3:-5349}
  local d="$WORK/turn-$mode"
  mkdir -p "$d"
  [ -f "$WORK/ca.pem" ] || nat_certs "$WORK"
  local auth="user=$NAT_TURN_USER:$NAT_TURN_PASS"
  [ "$mode" = rest ] && auth="use-auth-secret
static-auth-secret=$NAT_TURN_SECRET"
  [ "$mode" = quota ] && auth="$auth
user-quota=1"
  cat >"$d/turnserver.conf" <<EOF
listening-ip=$NAT_PUB_IP
relay-ip=$NAT_PUB_IP
listening-port=$port
tls-listening-port=$tls_port
min-port=49152
max-port=65535
no-cli
no-dtls
no-rfc5780
lt-cred-mech
realm=$NAT_TURN_REALM
$auth
fingerprint
cert=$WORK/server.pem
pkey=$WORK/server.key
pidfile=$d/turnserver.pid
userdb=$d/turndb
log-file=$d/turn.log
simple-log
no-stdout-log
${NAT_TURN_VERBOSITY:-verbose}
EOF
  in_ns pub turnserver -c "$d/turnserver.conf" >/dev/null 2>&1 </dev/null &
  local pid=$!
  PIDS+=("$pid")
  [ "$mode" = static ] && NAT_TURN_PID=$pid
  NAT_TURN_LOG=$d/turn.log
  local i
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || { echo "turnserver exited; see $NAT_TURN_LOG" >&2; return 1; }
    in_ns pub timeout 0.5 turnutils_stunclient -p "$port" "$NAT_PUB_IP" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "turnserver does not answer on $NAT_PUB_IP:$port" >&2
  return 1
}

nat_turn_stop() {
  [ -n "${NAT_TURN_PID:-}" ] || return 0
  kill "$NAT_TURN_PID" 2>/dev/null
  wait "$NAT_TURN_PID" 2>/dev/null
  NAT_TURN_PID=
}

# TURN REST credentials (coturn use-auth-secret): "<expiry>:<name>" and
# base64(HMAC-SHA1(secret, username)).
nat_rest_credentials() { # name -> sets NAT_REST_USER NAT_REST_PASS
  NAT_REST_USER="$(($(date +%s) + 3600)):$1"
  NAT_REST_PASS=$(printf %s "$NAT_REST_USER" | openssl dgst -sha1 -hmac "$NAT_TURN_SECRET" -binary |
    base64)
}
