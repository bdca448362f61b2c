# Godot 3.2's own WebRTCPeerConnection / WebRTCDataChannel on peermesh
# (libpeermesh_godot3.so), two connections in one process over real
# loopback ICE/DTLS/SCTP. Every check prints "ok <what>" or "FAIL <what>";
# the last line is "RESULT ok <n> checks" or "RESULT fail <n> failed", and
# the exit status is 0 / 1.
#
# What is covered: initialize() dictionaries (good and bad), channel options
# (Godot's keys, WebRTCMultiplayer's "maxPacketLifetime", bad combinations),
# offer/answer/candidates with the description set from inside
# session_description_created (re-entrancy) and a nested poll(), negotiated
# and in-band channels, binary and text messages of 1..65536 bytes both
# ways, a handler that drops the last reference to the emitting connection,
# an in-band channel the script drops (closed natively), close of a
# channel and of a connection from either side, calls after close, a channel
# object that outlives its connection, a replaced script, bad SDP and bad
# candidates (Godot error codes, no crash).
extends SceneTree

# Not 0: Godot 3.2's PacketPeer.put_packet() returns OK for an empty
# PoolByteArray without calling the implementation (checked below).
const SIZES = [1, 100, 1200, 1201, 16384, 65536]
const TEXT = WebRTCDataChannel.WRITE_MODE_TEXT
const BINARY = WebRTCDataChannel.WRITE_MODE_BINARY
const OPEN = WebRTCDataChannel.STATE_OPEN
const CLOSED = WebRTCDataChannel.STATE_CLOSED
const LOCAL = {"peermesh": {"bindAddress": "127.0.0.1"}}

var checks = 0
var failed = 0
var conns = []  # everything to poll
var received = {}  # name -> [channels] from data_channel_received
var keep_inband = true
var nested_poll_result = -1
var doomed  # a connection whose own signal handler drops it
var doomed_seen = []
var deadline = 0


func check(ok, what):
	checks += 1
	if ok:
		print("ok ", what)
	else:
		failed += 1
		print("FAIL ", what)
	return ok


func _init():
	var args = {}
	for a in OS.get_cmdline_args():
		var kv = a.split("=", true, 1)
		if kv.size() == 2:
			args[kv[0]] = kv[1]
	deadline = OS.get_ticks_msec() + int(args.get("timeout", "60")) * 1000
	call_deferred("run")


func poll_all():
	for c in conns:
		if c != null:
			c.poll()


# Poll everything until `cond` (a FuncRef with optional args) is true or
# `ms` passed. Returns the final value through the "completed" signal.
func wait(obj, method, args = [], ms = 10000):
	var end = min(OS.get_ticks_msec() + ms, deadline)
	while true:
		# First yield, then look: a GDScript 3 coroutine must yield at least
		# once for its caller's yield(..., "completed") to work.
		yield(self, "idle_frame")
		poll_all()
		if obj.callv(method, args):
			return true
		if OS.get_ticks_msec() > end:
			return false


func both_open(x, y):
	return x.get_ready_state() == OPEN and y.get_ready_state() == OPEN


func has_packet(ch):
	return ch.get_available_packet_count() > 0


func is_state(ch, st):
	return ch.get_ready_state() == st


func conn_state(pc, st):
	return pc.get_connection_state() == st


func got_inband(name):
	return received.has(name) and received[name].size() > 0


func on_description(type, sdp, me, other):
	# Re-entrancy: back into the connection that is emitting, and a poll()
	# from inside its own signal.
	check(me.set_local_description(type, sdp) == OK, "set_local_description(%s) inside the signal" % type)
	nested_poll_result = me.poll()
	check(other.set_remote_description(type, sdp) == OK, "set_remote_description(%s)" % type)


func on_candidate(mid, index, cand, other):
	if other.add_ice_candidate(mid, index, cand) != OK:
		check(false, "add_ice_candidate " + cand)


func on_channel(channel, name):
	if keep_inband:
		if not received.has(name):
			received[name] = []
		received[name].append(channel)


func wire(a, b, name_a, name_b):
	a.connect("session_description_created", self, "on_description", [a, b])
	b.connect("session_description_created", self, "on_description", [b, a])
	a.connect("ice_candidate_created", self, "on_candidate", [b])
	b.connect("ice_candidate_created", self, "on_candidate", [a])
	a.connect("data_channel_received", self, "on_channel", [name_a])
	b.connect("data_channel_received", self, "on_channel", [name_b])


# Drop the signal connections whose binds hold references to b.
func unwire(a, b):
	a.disconnect("session_description_created", self, "on_description")
	b.disconnect("session_description_created", self, "on_description")
	a.disconnect("ice_candidate_created", self, "on_candidate")
	b.disconnect("ice_candidate_created", self, "on_candidate")


func payload(size, seed_value, text):
	var out = PoolByteArray()
	out.resize(size)
	for i in range(size):
		if text:
			out[i] = 97 + (i + seed_value) % 26
		else:
			out[i] = (i * 31 + seed_value) % 256
	return out


# Send every size one way on (tx, rx) in `mode`; check bytes and string flag.
func exchange(tx, rx, mode, what):
	tx.write_mode = mode
	yield(self, "idle_frame")
	var ok = true
	for size in SIZES:
		var data = payload(size, size % 7, mode == TEXT)
		if tx.put_packet(data) != OK:
			check(false, "%s put_packet %d bytes" % [what, size])
			ok = false
			continue
		if not yield(wait(self, "has_packet", [rx]), "completed"):
			check(false, "%s %d bytes arrive" % [what, size])
			ok = false
			continue
		var got = rx.get_packet()
		if got != data or rx.was_string_packet() != (mode == TEXT):
			check(false, "%s %d bytes intact (got %d, string %s)" % [what, size, got.size(), rx.was_string_packet()])
			ok = false
	check(ok, "%s: sizes %s intact, was_string_packet %s" % [what, str(SIZES), mode == TEXT])


func config_checks():
	var pc = WebRTCPeerConnection.new()
	check(pc.get_connection_state() == WebRTCPeerConnection.STATE_NEW, "a new connection is STATE_NEW")
	check(pc.initialize({"iceServers": [{"urls": "stun:127.0.0.1:9"}], "peermesh": {"bindAddress": "127.0.0.1"}}) == OK, "initialize: urls as a String")
	check(pc.initialize({"iceServers": [{"urls": ["stun:127.0.0.1:9", "turn:127.0.0.1:9?transport=udp"], "username": "u", "credential": "c"}], "peermesh": {"bindAddress": "127.0.0.1"}}) == OK, "initialize: urls as an Array, TURN with credentials")
	check(pc.initialize({"iceServers": "stun:x"}) == ERR_INVALID_PARAMETER, "initialize: iceServers not an Array is ERR_INVALID_PARAMETER")
	check(pc.initialize({"iceServers": [{"urls": "http://127.0.0.1"}]}) == ERR_INVALID_PARAMETER, "initialize: bad URL scheme is ERR_INVALID_PARAMETER")
	check(pc.initialize({"iceServers": [{"urls": "turn:127.0.0.1"}]}) == ERR_INVALID_PARAMETER, "initialize: TURN without credential is ERR_INVALID_PARAMETER")
	check(pc.initialize({"iceServers": [{"username": "x"}]}) == ERR_INVALID_PARAMETER, "initialize: entry without urls is ERR_INVALID_PARAMETER")
	check(pc.initialize({"peermesh": {"bindAddress": "256.1.1.1"}}) != OK, "initialize: unusable bind address is an error")
	check(pc.initialize(LOCAL) == OK, "initialize again after errors")
	var ch = pc.create_data_channel("lossy", {"negotiated": true, "id": 5, "maxPacketLifetime": 500, "ordered": false})
	check(ch != null and ch.get_max_packet_life_time() == 500 and not ch.is_ordered() and ch.get_max_retransmits() == 65535, "WebRTCMultiplayer's \"maxPacketLifetime\" key is honoured (500 ms, unordered)")
	var ch2 = pc.create_data_channel("rx", {"maxRetransmits": 0, "protocol": "proto/1"})
	check(ch2 != null and ch2.get_max_retransmits() == 0 and ch2.get_max_packet_life_time() == 65535 and ch2.get_protocol() == "proto/1" and not ch2.is_negotiated() and ch2.get_id() == 65535, "in-band channel options: maxRetransmits 0, protocol, id 65535 until open")
	check(ch.get_ready_state() == WebRTCDataChannel.STATE_CONNECTING and ch.get_label() == "lossy" and ch.is_negotiated() and ch.get_id() == 5, "channel getters before connecting")
	check(ch.put_packet(PoolByteArray([1])) == ERR_UNCONFIGURED, "put_packet before open is ERR_UNCONFIGURED")
	check(ch.get_packet().size() == 0 and ch.get_packet_error() == ERR_UNAVAILABLE, "get_packet with nothing queued is ERR_UNAVAILABLE")
	check(pc.create_data_channel("x", {"maxPacketLifeTime": 10, "maxRetransmits": 1}) == null, "lifetime and retransmits together: null")
	check(pc.create_data_channel("x", {"id": 3}) == null, "id without negotiated: null")
	check(pc.create_data_channel("x", {"negotiated": true}) == null, "negotiated without id: null")
	check(pc.create_data_channel("x", {"negotiated": true, "id": 5}) == null, "negotiated id already taken: null")
	check(pc.create_data_channel("x", {"negotiated": true, "id": "seven"}) == null, "id not a number: null")
	# Replacing the script unbinds the interface: calls fail instead of crashing.
	pc.set_script(null)
	check(pc.poll() == ERR_UNCONFIGURED and pc.create_offer() == ERR_UNCONFIGURED, "after the script is replaced, calls return ERR_UNCONFIGURED")
	check(ch.get_ready_state() == CLOSED and ch.put_packet(PoolByteArray([1])) != OK, "its channels then report CLOSED and refuse to send")


func on_doomed_description(type, _sdp):
	doomed_seen.append(type)
	doomed = null  # the last reference, while the object is emitting


# A handler that drops the last reference to the connection emitting the
# signal: the object dies inside poll(). Godot warns; we must not crash.
func drop_in_handler_check():
	doomed = WebRTCPeerConnection.new()
	doomed.initialize(LOCAL)
	doomed.create_data_channel("x", {"negotiated": true, "id": 1})
	doomed.connect("session_description_created", self, "on_doomed_description")
	doomed.create_offer()
	doomed.poll()
	check(doomed == null and doomed_seen == ["offer"], "a handler may drop the last reference to the emitting connection")


func bad_input_checks():
	var pc = WebRTCPeerConnection.new()
	pc.initialize(LOCAL)
	pc.create_data_channel("d", {"negotiated": true, "id": 1})
	check(pc.set_remote_description("offer", "this is not SDP") == ERR_PARSE_ERROR, "garbage offer SDP is ERR_PARSE_ERROR")
	check(pc.set_remote_description("offer", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n") == ERR_PARSE_ERROR, "offer without a data-channel m-line is ERR_PARSE_ERROR")
	check(pc.set_remote_description("pranswer", "v=0") == ERR_INVALID_PARAMETER, "unknown description type is ERR_INVALID_PARAMETER")
	check(pc.set_remote_description("answer", "v=0\r\n") != OK, "an answer without an offer is an error")
	check(pc.set_local_description("offer", "v=0\r\n") != OK, "a local description that was never made is an error")
	check(pc.add_ice_candidate("0", 0, "candidate:garbage") == ERR_PARSE_ERROR, "garbage candidate is ERR_PARSE_ERROR")
	check(pc.add_ice_candidate("0", 0, "candidate:1 1 udp 1 300.1.1.1 9 typ host") == ERR_PARSE_ERROR, "candidate with a bad address is ERR_PARSE_ERROR")
	check(pc.get_connection_state() == WebRTCPeerConnection.STATE_NEW, "the connection survives bad input")
	var long_sdp = ""
	for i in range(2000):
		long_sdp += "a=x-junk:%d\r\n" % i
	check(pc.set_remote_description("offer", long_sdp) != OK, "a long garbage SDP is refused")


func run():
	config_checks()
	bad_input_checks()
	drop_in_handler_check()

	var a = WebRTCPeerConnection.new()
	var b = WebRTCPeerConnection.new()
	check(a.initialize(LOCAL) == OK and b.initialize(LOCAL) == OK, "initialize both")
	conns = [a, b]
	wire(a, b, "a", "b")
	var na = a.create_data_channel("chat", {"negotiated": true, "id": 1})
	var nb = b.create_data_channel("chat", {"negotiated": true, "id": 1})
	var ia = a.create_data_channel("inband", {"protocol": "p1"})
	check(a.create_offer() == OK, "create_offer")
	var up = yield(wait(self, "both_open", [na, nb]), "completed")
	check(nested_poll_result == OK, "poll() from inside our own signal returns OK")
	check(up, "negotiated channel open on both sides")
	check(a.get_connection_state() == WebRTCPeerConnection.STATE_CONNECTED and b.get_connection_state() == WebRTCPeerConnection.STATE_CONNECTED, "both connections STATE_CONNECTED")
	check(yield(wait(self, "got_inband", ["b"]), "completed"), "data_channel_received for the in-band channel")
	if not up or not got_inband("b"):
		return finish()
	var ib = received["b"][0]
	yield(wait(self, "both_open", [ia, ib]), "completed")
	check(ib.get_label() == "inband" and ib.get_protocol() == "p1" and not ib.is_negotiated() and ib.get_id() == ia.get_id() and ib.get_id() != 65535, "in-band channel: label, protocol, id agree")

	yield(exchange(na, nb, BINARY, "negotiated a>b binary"), "completed")
	yield(exchange(nb, na, TEXT, "negotiated b>a text"), "completed")
	yield(exchange(ia, ib, TEXT, "in-band a>b text"), "completed")
	yield(exchange(ib, ia, BINARY, "in-band b>a binary"), "completed")
	# The engine swallows an empty put_packet (OK, nothing sent): the next
	# message is the first to arrive.
	check(na.put_packet(PoolByteArray()) == OK, "empty put_packet returns OK (engine behaviour)")
	check(na.put_packet(PoolByteArray([42])) == OK, "a message after it")
	check(yield(wait(self, "has_packet", [nb]), "completed") and nb.get_packet() == PoolByteArray([42]), "the message after the empty put_packet arrives first")
	var huge = PoolByteArray()
	huge.resize(300000)
	check(na.put_packet(huge) == ERR_PARAMETER_RANGE_ERROR, "a message above the limit is ERR_PARAMETER_RANGE_ERROR")

	# An in-band channel the script does not keep: closed natively.
	keep_inband = false
	var dropped = a.create_data_channel("dropme")
	yield(wait(self, "is_state", [dropped, OPEN]), "completed")
	check(yield(wait(self, "is_state", [dropped, CLOSED]), "completed"), "an in-band channel the remote script drops is closed (the sender sees CLOSED)")
	keep_inband = true

	# Close a channel from the receiving side.
	ib.close()
	check(yield(wait(self, "is_state", [ia, CLOSED]), "completed"), "closing a channel on b closes it on a")
	check(ia.put_packet(PoolByteArray([1])) == ERR_UNCONFIGURED, "put_packet on a closed channel is ERR_UNCONFIGURED")

	# A channel that outlives its connection, with a message still unread.
	check(na.put_packet("last words".to_utf8()) == OK, "send before dropping the connection")
	yield(wait(self, "has_packet", [nb]), "completed")
	var survivor = nb
	nb = null
	conns = [a]
	unwire(a, b)
	received.clear()
	b = null  # the connection object is freed here; survivor keeps the native side
	check(survivor.get_ready_state() == CLOSED, "a channel whose connection object is gone reports CLOSED")
	check(survivor.get_packet().get_string_from_utf8() == "last words", "it still delivers what had arrived")
	check(survivor.put_packet(PoolByteArray([1])) == ERR_UNCONFIGURED and survivor.get_label() == "chat", "it refuses to send and keeps its label")
	check(yield(wait(self, "conn_state", [a, WebRTCPeerConnection.STATE_CLOSED], 6000), "completed"), "the remote connection closes when the other object is freed")

	# Calls after close.
	a.close()
	a.close()
	check(a.get_connection_state() == WebRTCPeerConnection.STATE_CLOSED, "close() twice: STATE_CLOSED")
	check(a.create_offer() != OK, "create_offer after close is an error")
	check(a.create_data_channel("late") == null, "create_data_channel after close is null")
	check(a.add_ice_candidate("0", 0, "candidate:1 1 udp 1 127.0.0.1 9 typ host") != OK, "add_ice_candidate after close is an error")
	check(a.set_remote_description("offer", "v=0\r\n") != OK, "set_remote_description after close is an error")
	check(a.poll() == OK, "poll after close is OK")
	check(na.get_ready_state() == CLOSED and na.put_packet(PoolByteArray([1])) != OK, "channels of a closed connection refuse to send")

	# initialize() after close starts over in STATE_NEW.
	check(a.initialize(LOCAL) == OK and a.get_connection_state() == WebRTCPeerConnection.STATE_NEW, "initialize after close: STATE_NEW again")
	check(a.create_data_channel("again", {"negotiated": true, "id": 1}) != null, "negotiated id 1 is free again after initialize")
	finish()


func finish():
	if failed == 0:
		print("RESULT ok %d checks" % checks)
	else:
		print("RESULT fail %d of %d checks failed" % [failed, checks])
	OS.exit_code = 0 if failed == 0 else 1
	quit()
