# A Godot 3.2 NetworkedMultiplayerENet echo server for peermesh clients:
# every raw packet goes back to its sender with send_bytes, in the transfer
# mode named by payload byte 4 (the peermesh prober's layout). Quits 0 with
# "RESULT ok ..." once `peers` clients have come and gone, 2 when the port
# cannot be bound, 1 on timeout.
extends SceneTree

const Common = preload("res://common.gd")

var expect_peers = 1
var deadline = 0
var connected = 0
var disconnected = 0
var packets = 0


func _init():
	var a = Common.args()
	expect_peers = int(a.get("peers", "1"))
	deadline = OS.get_ticks_msec() + int(a.get("timeout", "20")) * 1000
	OS.low_processor_usage_mode_sleep_usec = 1000
	var peer = NetworkedMultiplayerENet.new()
	if peer.create_server(int(a.get("port", "0")), 32) != OK:
		print("BIND_FAILED")
		quit(2)
		return
	set_network_peer(peer)
	connect("network_peer_connected", self, "_on_connected")
	connect("network_peer_disconnected", self, "_on_disconnected")
	multiplayer.connect("network_peer_packet", self, "_on_packet")
	var f = File.new()
	f.open(a.get("ready", "ready.txt"), File.WRITE)
	f.store_string("ready")
	f.close()
	print("listening")


func _on_connected(id):
	connected += 1
	print("peer_connected ", id)


func _on_disconnected(id):
	disconnected += 1
	print("peer_disconnected ", id)


func _on_packet(id, bytes):
	packets += 1
	var mode = NetworkedMultiplayerPeer.TRANSFER_MODE_RELIABLE
	if bytes.size() >= 5 and bytes[4] <= 2:
		mode = bytes[4]
	multiplayer.send_bytes(bytes, id, mode)


func _idle(_delta):
	if disconnected >= expect_peers:
		print("RESULT ok connected=%d disconnected=%d packets=%d" % [connected, disconnected, packets])
		quit(0)
	elif OS.get_ticks_msec() > deadline:
		print("RESULT fail timeout connected=%d disconnected=%d packets=%d" % [connected, disconnected, packets])
		quit(1)
	return false
