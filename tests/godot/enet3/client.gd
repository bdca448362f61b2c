# A Godot 3.2 NetworkedMultiplayerENet client of a peermesh server.
#
#   role=echo   send n reliable and n unreliable raw packets (send_bytes,
#               command byte 0x04) to the server, which echoes them; all
#               reliable ones must come back from peer 1 intact and in send
#               order, and at least one unreliable one, intact and only once
#   role=relay  wait for another client (ADD_PEER from the server), send it a
#               targeted reliable, a targeted unreliable and a broadcast
#               packet through the server's relay, and receive the same
#
# Prints one "RESULT ok ..." or "RESULT fail ..." line and quits 0 / 1.
extends SceneTree

const Common = preload("res://common.gd")

var role = "echo"
var n = 20
var deadline = 0
var done_at = 0
var got_rel = 0
var got_unrel = 0
var seen_unrel = {}
var other = 0
var got_hello = false
var got_bcast = false
var bad = ""


func _init():
	var a = Common.args()
	role = a.get("role", "echo")
	n = int(a.get("n", "20"))
	deadline = OS.get_ticks_msec() + int(a.get("timeout", "20")) * 1000
	# A headless Godot sleeps 6.9 ms per frame by default; 1 ms keeps the test quick.
	OS.low_processor_usage_mode_sleep_usec = 1000
	var peer = NetworkedMultiplayerENet.new()
	var err = peer.create_client("127.0.0.1", int(a.get("port", "0")))
	if err != OK:
		print("RESULT fail create_client error ", err)
		quit(1)
		return
	set_network_peer(peer)
	connect("connected_to_server", self, "_on_connected")
	connect("connection_failed", self, "_on_failed")
	connect("server_disconnected", self, "_on_server_gone")
	connect("network_peer_connected", self, "_on_peer")
	multiplayer.connect("network_peer_packet", self, "_on_packet")


func _on_connected():
	print("connected as ", get_network_unique_id())
	if role != "echo":
		return
	for i in range(n):
		multiplayer.send_bytes(("rel-%d" % i).to_ascii(), 1, NetworkedMultiplayerPeer.TRANSFER_MODE_RELIABLE)
		multiplayer.send_bytes(("unr-%d" % i).to_ascii(), 1, NetworkedMultiplayerPeer.TRANSFER_MODE_UNRELIABLE)


func _on_failed():
	bad = "connection_failed"


func _on_server_gone():
	if done_at == 0:
		bad = "server_disconnected"


func _on_peer(id):
	print("peer_connected ", id)
	if role != "relay" or id == 1 or other != 0:
		return
	other = id
	var me = str(get_network_unique_id())
	multiplayer.send_bytes(("hello-from-" + me).to_ascii(), id, NetworkedMultiplayerPeer.TRANSFER_MODE_RELIABLE)
	multiplayer.send_bytes(("unrel-from-" + me).to_ascii(), id, NetworkedMultiplayerPeer.TRANSFER_MODE_UNRELIABLE)
	multiplayer.send_bytes(("bcast-from-" + me).to_ascii(), 0, NetworkedMultiplayerPeer.TRANSFER_MODE_RELIABLE)


func _on_packet(id, bytes):
	var s = bytes.get_string_from_ascii()
	if role == "echo":
		if id != 1:
			bad = "echo from %d, not the server" % id
		elif s.begins_with("rel-"):
			# Reliable echoes come back whole and in send order.
			if s != "rel-%d" % got_rel:
				bad = "reliable echo %d came back as %s" % [got_rel, s]
			got_rel += 1
		elif s.begins_with("unr-"):
			# Unreliable ones may be lost, never altered nor repeated.
			var k = int(s.substr(4))
			if s != "unr-%d" % k or k < 0 or k >= n or seen_unrel.has(k):
				bad = "unreliable echo %s altered or repeated" % s
			seen_unrel[k] = true
			got_unrel += 1
		else:
			bad = "unexpected packet from the server: %s" % s
		return
	if s == "hello-from-%d" % id:
		got_hello = true
	elif s == "bcast-from-%d" % id:
		got_bcast = true
	elif s == "unrel-from-%d" % id:
		got_unrel += 1
	else:
		bad = "unexpected packet from %d: %s" % [id, s]


func _summary():
	if role == "echo":
		return "role=echo reliable=%d/%d unreliable=%d/%d" % [got_rel, n, got_unrel, n]
	return "role=relay other=%d hello=%s bcast=%s unreliable=%d" % [other, got_hello, got_bcast, got_unrel]


func _idle(_delta):
	var now = OS.get_ticks_msec()
	if bad != "":
		print("RESULT fail ", bad, " ", _summary())
		quit(1)
		return false
	if done_at > 0:
		if now >= done_at:
			print("RESULT ok ", _summary())
			quit(0)
		return false
	var ok = false
	if role == "echo":
		ok = got_rel == n and got_unrel >= 1
	else:
		ok = got_hello and got_bcast
	if ok:
		# Stay a moment so the other side gets what we sent before we leave.
		done_at = now + 500
	elif now > deadline:
		print("RESULT fail timeout ", _summary())
		quit(1)
	return false
