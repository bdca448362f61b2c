# The Echo node of a Godot server: what `peermesh rpc serve` declares
# (apps/peermesh/cmd_rpc.c), written as a Godot game would.
extends Node

const Common = preload("res://common.gd")
const NONE = Common.NONE

remote var value = 0 setget set_value


func _sender():
	return get_tree().get_rpc_sender_id()


func set_value(v):
	value = v
	rpc("value_changed", v, _sender())


remote func echo(a0 = NONE, a1 = NONE, a2 = NONE, a3 = NONE, a4 = NONE, a5 = NONE, a6 = NONE, a7 = NONE, a8 = NONE, a9 = NONE, a10 = NONE, a11 = NONE, a12 = NONE, a13 = NONE, a14 = NONE, a15 = NONE, a16 = NONE, a17 = NONE, a18 = NONE, a19 = NONE, a20 = NONE, a21 = NONE, a22 = NONE, a23 = NONE, a24 = NONE, a25 = NONE, a26 = NONE, a27 = NONE, a28 = NONE, a29 = NONE, a30 = NONE, a31 = NONE):
	callv("rpc_id", [_sender(), "echo_reply"] + Common.collect([a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31]))


remote func ping(n):
	rpc_unreliable_id(_sender(), "pong", n)


func _reply(name, x):
	rpc_id(_sender(), "mode_reply", name, x)


master func master_call(x):
	_reply("master_call", x)


mastersync func mastersync_call(x):
	_reply("mastersync_call", x)


remotesync func sync_call(x):
	if _sender() != get_tree().get_network_unique_id():
		_reply("sync_call", x)


puppet func puppet_call(x):
	_reply("puppet_call", x)


puppetsync func puppetsync_call(x):
	_reply("puppetsync_call", x)


func disabled_call(x):
	_reply("disabled_call", x)


remotesync func sync_all(_who):
	pass


remote func probe_modes():
	var caller = _sender()
	rpc_id(caller, "to_puppet", 1)
	rpc_id(caller, "to_master", 2)
	rpc_id(caller, "to_remote", 3)
	rpc_id(caller, "to_remotesync", 4)
	rset("shared", caller)
	rpc("sync_all", caller)
	rpc_id(caller, "probe_done")
