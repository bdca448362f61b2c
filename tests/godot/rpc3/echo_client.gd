# The Echo node of a Godot client: the modes a game would declare for what
# the server calls on it. Results go to the client script (`test`).
extends Node

const Common = preload("res://common.gd")
const NONE = Common.NONE

var test = null
puppet var shared = 0 setget set_shared


func set_shared(v):
	shared = v
	test.shared = v


remote func echo_reply(a0 = NONE, a1 = NONE, a2 = NONE, a3 = NONE, a4 = NONE, a5 = NONE, a6 = NONE, a7 = NONE, a8 = NONE, a9 = NONE, a10 = NONE, a11 = NONE, a12 = NONE, a13 = NONE, a14 = NONE, a15 = NONE, a16 = NONE, a17 = NONE, a18 = NONE, a19 = NONE, a20 = NONE, a21 = NONE, a22 = NONE, a23 = NONE, a24 = NONE, a25 = NONE, a26 = NONE, a27 = NONE, a28 = NONE, a29 = NONE, a30 = NONE, a31 = NONE):
	test.on_echo_reply(Common.collect([a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31]))


remote func pong(_n):
	test.pongs += 1


puppet func value_changed(v, who):
	test.on_value_changed(v, who)


remote func mode_reply(name, _x):
	test.modes.append(name)


remote func hello(who):
	test.on_hello(get_tree().get_rpc_sender_id(), who)


puppet func to_puppet(_k):
	test.got["to_puppet"] = true


master func to_master(_k):
	test.got["to_master"] = true


remote func to_remote(_k):
	test.got["to_remote"] = true


remotesync func to_remotesync(_k):
	test.got["to_remotesync"] = true


remotesync func sync_all(_who):
	test.got["sync_all"] = get_tree().get_rpc_sender_id()


remote func probe_done():
	test.got["probe_done"] = true
