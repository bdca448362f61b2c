# A Godot 3.2 Echo server (echo_server.gd, what `peermesh rpc serve`
# declares) for the C client `peermesh rpc probe`, over ENet or WebSocket,
# bound to 127.0.0.1.
#
#   transport=enet|ws|wss port=P ready=FILE peers=N timeout=S [cert=PEM key=PEM]
#   transport=mesh url=ws://SIGNAL ready=FILE done=FILE timeout=S
#       (signaling.gd of examples/godot3/webrtc-chat, copied here by the runner)
#
# Quits 0 with "RESULT ok ..." once `peers` clients have come and gone (or,
# in a mesh, once the file `done` exists), 2 when the port cannot be bound,
# 1 on timeout. In a mesh it creates the lobby (so it is peer 1) and writes
# the lobby's name to `ready`.
extends SceneTree

const Common = preload("res://common.gd")

var expect_peers = 1
var deadline = 0
var connected = 0
var disconnected = 0
var raw = 0
var done_file = ""
var ready_file = ""


func _init():
	var a = Common.args()
	expect_peers = int(a.get("peers", "1"))
	deadline = OS.get_ticks_msec() + int(a.get("timeout", "20")) * 1000
	OS.low_processor_usage_mode_sleep_usec = 1000
	var port = int(a.get("port", "0"))
	var peer
	var err
	done_file = a.get("done", "")
	ready_file = a.get("ready", "ready.txt")
	if a.get("transport") == "mesh":
		var sig = Node.new()
		sig.set_script(load("res://signaling.gd"))
		sig.connect("joined", self, "_on_joined", [sig])
		root.add_child(sig)
		err = sig.join(a.get("url", ""), "")
	elif a.get("transport", "enet") == "enet":
		peer = NetworkedMultiplayerENet.new()
		peer.set_bind_ip("127.0.0.1")
		err = peer.create_server(port, 32)
	else:
		peer = WebSocketServer.new()
		peer.bind_ip = "127.0.0.1"
		if a.get("transport") == "wss":
			var key = CryptoKey.new()
			var cert = X509Certificate.new()
			if key.load(a.get("key", "")) != OK or cert.load(a.get("cert", "")) != OK:
				print("RESULT fail cannot load the certificate")
				quit(1)
				return
			peer.private_key = key
			peer.ssl_certificate = cert
		err = peer.listen(port, PoolStringArray(), true)
	if err != OK:
		print("BIND_FAILED ", err)
		quit(2)
		return
	var node = Node.new()
	node.name = "Echo"
	node.set_script(load("res://echo_server.gd"))
	root.add_child(node)
	connect("network_peer_connected", self, "_on_connected")
	connect("network_peer_disconnected", self, "_on_disconnected")
	multiplayer.connect("network_peer_packet", self, "_on_packet")
	if peer:
		set_network_peer(peer)
		_write_ready("ready")
		print("listening")


func _write_ready(text):
	var f = File.new()
	f.open(ready_file, File.WRITE)
	f.store_string(text)
	f.close()


func _on_joined(lobby, id, sig):
	print("lobby ", lobby, " as ", id)
	set_network_peer(sig.rtc_mp)
	_write_ready(lobby)


func _on_connected(id):
	connected += 1
	print("peer_connected ", id)


func _on_disconnected(id):
	disconnected += 1
	print("peer_disconnected ", id)


func _on_packet(id, bytes):
	raw += 1
	multiplayer.send_bytes(bytes, id)


func _idle(_delta):
	if disconnected >= expect_peers or (done_file != "" and Directory.new().file_exists(done_file)):
		print("RESULT ok connected=%d disconnected=%d raw=%d" % [connected, disconnected, raw])
		quit(0)
	elif OS.get_ticks_msec() > deadline:
		print("RESULT fail timeout connected=%d disconnected=%d" % [connected, disconnected])
		quit(1)
