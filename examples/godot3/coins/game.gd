# The client of the coins game. Its server is the C program
# examples/coins-server/coins_server.c, which declares the same node,
# /root/Game, and answers these calls as a Godot server would.
#
#   godot3 --path examples/godot3/coins [-- host=IP port=9000 name=NAME ws bot
#                                            seconds=S goal=N]
#
# Arrow keys move your dot; touch the coin to score. `bot` (and the headless
# godot3-server) chases the coin by itself; `seconds` quits after that long,
# `goal` once someone has N points, with a "RESULT score=N best=M" line.
extends Node2D

var me = 0
var positions = {}
var board = {}
var coin_at = Vector2(-100, -100)
var bot = false
var seconds = 0.0
var goal = 0
var elapsed = 0.0
var label


func _ready():
	var args = {}
	for a in OS.get_cmdline_args():
		var kv = a.split("=", true, 1)
		args[kv[0]] = kv[1] if kv.size() == 2 else ""
	var host = args.get("host", "127.0.0.1")
	var port = int(args.get("port", "9000"))
	bot = args.has("bot") or OS.get_name() == "Server"
	seconds = float(args.get("seconds", "0"))
	goal = int(args.get("goal", "0"))
	randomize()
	var player_name = args.get("name", "player%d" % (randi() % 1000))
	var peer
	if args.has("ws"):
		peer = WebSocketClient.new()
		peer.connect_to_url("ws://%s:%d/" % [host, port], PoolStringArray(), true)
	else:
		peer = NetworkedMultiplayerENet.new()
		peer.create_client(host, port)
	get_tree().network_peer = peer
	get_tree().connect("connected_to_server", self, "_on_connected", [player_name])
	get_tree().connect("connection_failed", self, "_on_gone")
	get_tree().connect("server_disconnected", self, "_on_gone")
	label = Label.new()
	add_child(label)


func _on_connected(player_name):
	me = get_tree().get_network_unique_id()
	print("connected as ", me)
	rpc_id(1, "join", player_name)


func _on_gone():
	print("RESULT disconnected")
	get_tree().quit(1)


# What the server calls (puppet: only the master, the server, may).
puppet func welcome(at):
	coin_at = at


puppet func coin(at):
	coin_at = at


puppet func state(at):
	positions = at
	update()


puppet func scores(new_board):
	board = new_board
	var lines = PoolStringArray()
	for id in board:
		lines.append("%s: %d" % [board[id][0], board[id][1]])
	label.text = lines.join("\n")
	print("scores ", lines.join(", "))


func _physics_process(delta):
	if me == 0:
		return
	elapsed += delta
	var best = 0
	for id in board:
		best = max(best, board[id][1])
	if (seconds > 0 and elapsed > seconds) or (goal > 0 and best >= goal):
		print("RESULT score=%d best=%d" % [board.get(me, ["", 0])[1], best])
		get_tree().quit(0)
		return
	var dir = Vector2()
	if bot:
		if positions.has(me):
			dir = (coin_at - positions[me]).normalized()
	else:
		dir.x = Input.get_action_strength("ui_right") - Input.get_action_strength("ui_left")
		dir.y = Input.get_action_strength("ui_down") - Input.get_action_strength("ui_up")
	rpc_unreliable_id(1, "move", dir)


func _draw():
	draw_circle(coin_at, 8, Color.gold)
	for id in positions:
		draw_circle(positions[id], 16, Color.green if id == me else Color.cornflower)
