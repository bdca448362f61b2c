# The chat: type a line, everyone in the lobby gets it through rpc().
#
# Arguments (key=value after the Godot options): url=ws://HOST:PORT/
# lobby=NAME (empty: create one) name=TEXT, and for scripted runs
# say=TEXT (sent once the first peer is connected), echo=1 (answer every
# message), quit_after=N (quit after N messages from others).
# Headless (godot3-server) it prints the conversation on stdout.
extends Control

var args = {}
var client = preload("res://signaling.gd").new()
var headless = OS.has_feature("Server")
var heard = 0
var said = false
var log_box
var input


func _ready():
	for a in OS.get_cmdline_args():
		var kv = a.split("=", true, 1)
		if kv.size() == 2:
			args[kv[0]] = kv[1]
	if not headless:
		_build_ui()
	add_child(client)
	client.connect("joined", self, "_on_joined")
	client.connect("closed", self, "_on_closed")
	client.rtc_mp.connect("peer_connected", self, "_on_peer", [true])
	client.rtc_mp.connect("peer_disconnected", self, "_on_peer", [false])
	var url = args.get("url", "ws://127.0.0.1:9080/")
	show_line("connecting to %s ..." % url)
	if client.join(url, args.get("lobby", "")) != OK:
		show_line("cannot connect to " + url)


func _build_ui():
	var box = VBoxContainer.new()
	box.set_anchors_and_margins_preset(Control.PRESET_WIDE)
	add_child(box)
	log_box = TextEdit.new()
	log_box.readonly = true
	log_box.size_flags_vertical = SIZE_EXPAND_FILL
	box.add_child(log_box)
	input = LineEdit.new()
	input.placeholder_text = "type a message and press Enter"
	input.connect("text_entered", self, "_on_input")
	box.add_child(input)
	input.grab_focus()


func show_line(text):
	print(text)
	if log_box:
		log_box.text += text + "\n"
		log_box.cursor_set_line(log_box.get_line_count())


func _on_joined(lobby, id):
	get_tree().network_peer = client.rtc_mp
	show_line("LOBBY %s" % lobby)
	show_line("we are peer %d in lobby %s" % [id, lobby])


func _on_closed(code, reason):
	show_line("signaling closed %d %s (the chat goes on with who is here)" % [code, reason])


func _on_peer(id, joined):
	show_line("peer %d %s" % [id, "joined" if joined else "left"])
	if joined and not said and args.has("say"):
		said = true
		rpc("chat", args.get("name", "peer %d" % client.my_id), args["say"])


func _on_input(text):
	if text.strip_edges() == "":
		return
	input.text = ""
	show_line("[me] " + text)
	rpc("chat", args.get("name", "peer %d" % client.my_id), text)


remote func chat(from_name, text):
	show_line("[%s] %s" % [from_name, text])
	heard += 1
	if args.get("echo", "0") == "1":
		rpc_id(get_tree().get_rpc_sender_id(), "chat", args.get("name", "echo bot"), "echo: " + text)
	if args.has("quit_after") and heard >= int(args["quit_after"]):
		yield(get_tree().create_timer(0.3), "timeout")  # let our last words leave
		get_tree().quit()
