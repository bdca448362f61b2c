# A Godot 3.2 client of an Echo server (`peermesh rpc serve`): the whole
# conversation through Godot's own rpc_id / rset_id / rpc_unreliable_id /
# send_bytes, every answer checked, and the RPC modes on Godot's side.
#
#   transport=enet|ws|wss port=P timeout=S others=N
#   transport=mesh url=ws://SIGNAL lobby=NAME timeout=S others=N
#       a WebRTC mesh on the add-on, joined with signaling.gd of
#       examples/godot3/webrtc-chat (tests/godot3/rpc_mesh.sh copies it here)
#   godot_server=1: the Echo server is Godot, which cannot send an object id back
#
# `others` is how many other clients must say hello through the server's
# relay. Prints one "RESULT ok ..." or "RESULT fail ..." line; quits 0 / 1.
extends SceneTree

const Common = preload("res://common.gd")

var node
var me = 0
var others = 0
var exact_objects = true
var mesh = false
var deadline = 0
var done_at = 0
var bad = ""
var values = []
var expected = []
var echoes = 0
var echo_bad = 0
var pongs = 0
var raw = 0
var modes = []
var modes_before_fence = -1
var value_changed = 0
var hellos = {}
var shared = 0
var got = {}


func _init():
	var a = Common.args()
	others = int(a.get("others", "0"))
	exact_objects = a.get("godot_server", "0") != "1"
	deadline = OS.get_ticks_msec() + int(a.get("timeout", "20")) * 1000
	# A headless Godot sleeps 6.9 ms per frame by default; 1 ms keeps the test quick.
	OS.low_processor_usage_mode_sleep_usec = 1000
	var transport = a.get("transport", "enet")
	var port = int(a.get("port", "0"))
	var peer
	var err
	if transport == "mesh":
		# The mesh becomes the network peer once we have our id; peer 1
		# (the lobby's host) connecting is our connected_to_server.
		mesh = true
		var sig = Node.new()
		sig.set_script(load("res://signaling.gd"))
		sig.connect("joined", self, "_on_joined", [sig])
		root.add_child(sig)
		err = sig.join(a.get("url", ""), a.get("lobby", ""))
	elif transport == "enet":
		peer = NetworkedMultiplayerENet.new()
		err = peer.create_client("127.0.0.1", port)
	else:
		peer = WebSocketClient.new()
		peer.verify_ssl = false
		var scheme = "wss" if transport == "wss" else "ws"
		err = peer.connect_to_url("%s://127.0.0.1:%d/" % [scheme, port], PoolStringArray(), true)
	if err != OK:
		print("RESULT fail connect error ", err)
		quit(1)
		return
	node = Node.new()
	node.name = "Echo"
	node.set_script(load("res://echo_client.gd"))
	node.test = self
	root.add_child(node)
	if peer:
		set_network_peer(peer)
	connect("connected_to_server", self, "_on_connected")
	connect("connection_failed", self, "_on_failed")
	connect("server_disconnected", self, "_on_server_gone")
	connect("network_peer_connected", self, "_on_peer")
	multiplayer.connect("network_peer_packet", self, "_on_packet")


func _on_connected():
	me = get_network_unique_id()
	print("connected as ", me)
	values = Common.samples(node)
	for v in values:
		expected.append([v])
		node.rpc_id(1, "echo", v)
	expected.append(values)
	node.callv("rpc_id", [1, "echo"] + values)
	node.rset_id(1, "value", 5)
	for i in range(10):
		node.rpc_unreliable_id(1, "ping", i)
	multiplayer.send_bytes(PoolByteArray([0, 1, 2, 255]), 1)
	for name in ["master_call", "mastersync_call", "sync_call", "puppet_call", "puppetsync_call",
			"disabled_call"]:
		node.rpc_id(1, name, 1)
	expected.append(["fence"])
	node.rpc_id(1, "echo", "fence")
	node.rpc_id(1, "probe_modes")


func _on_failed():
	bad = "connection_failed"


func _on_server_gone():
	if done_at == 0:
		bad = "server_disconnected"


func _on_joined(_lobby, _id, sig):
	set_network_peer(sig.rtc_mp)


func _on_peer(id):
	if id == 1 and mesh:
		_on_connected()
	if id != 1:
		# In a mesh another member may come before the host (and `me`).
		print("peer ", id)
		node.rpc_id(id, "hello", get_network_unique_id())


func _on_packet(id, bytes):
	if id == 1 and bytes == PoolByteArray([0, 1, 2, 255]):
		raw += 1
	else:
		bad = "unexpected raw packet from %d" % id


func on_echo_reply(args):
	var k = echoes + echo_bad
	if k < expected.size() and Common.same(expected[k], args, exact_objects):
		echoes += 1
	else:
		echo_bad += 1
		print("echo %d came back different: %s" % [k, str(args)])
	if args.size() == 1 and typeof(args[0]) == TYPE_STRING and args[0] == "fence":
		modes_before_fence = modes.size()


func on_value_changed(v, who):
	if who == me and typeof(v) == TYPE_INT and v == 5:
		value_changed += 1


func on_hello(sender, who):
	if sender == who:
		hellos[sender] = true


func _checks():
	return ("echoes=%d/%d pongs=%d raw=%d modes=%s before_fence=%d value_changed=%d hellos=%d " +
		"shared=%d got=%s") % [echoes, expected.size(), pongs, raw, str(modes),
		modes_before_fence, value_changed, hellos.size(), shared, str(got)]


func _complete():
	return (echoes + echo_bad == expected.size() and expected.size() > 0 and pongs > 0
		and raw > 0 and modes_before_fence >= 0 and value_changed > 0
		and hellos.size() >= others and shared != 0 and got.has("probe_done"))


func _passed():
	return (echo_bad == 0 and modes.slice(0, 2) == ["master_call", "mastersync_call", "sync_call"]
		and modes.size() == 3 and modes_before_fence == 3 and got.get("to_puppet", false)
		and got.get("to_remote", false) and got.get("to_remotesync", false)
		and not got.has("to_master") and got.get("sync_all", 0) == 1 and bad == "")


func _idle(_delta):
	if done_at == 0 and (_complete() or bad != ""):
		done_at = OS.get_ticks_msec()
	# Stay a little: the other client's hello may still be on its way here,
	# and a late forbidden call would show.
	if done_at != 0 and OS.get_ticks_msec() > done_at + 500:
		if _complete() and _passed():
			print("RESULT ok ", _checks())
			quit(0)
		else:
			print("RESULT fail ", bad, " ", _checks())
			quit(1)
	elif OS.get_ticks_msec() > deadline:
		print("RESULT fail timeout ", bad, " ", _checks())
		quit(1)
