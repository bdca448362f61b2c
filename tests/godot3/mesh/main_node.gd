# /root/Main in every Godot member of tests/godot3/mesh.sh: the RPC target.
extends Node

signal pinged(from_name, sender_id)


remote func ping(from_name):
	emit_signal("pinged", from_name, get_tree().get_rpc_sender_id())
