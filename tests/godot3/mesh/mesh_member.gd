# A Godot 3.2 member of tests/godot3/mesh.sh: the tutorial's
# WebRTCMultiplayer as get_tree().network_peer, found through peermesh-signal
# with a GDScript client of the signaling demo's 4.x JSON protocol, every
# connection a WebRTCPeerConnection on the peermesh add-on.
#
#   godot3-server --path P -s mesh_member.gd name=H|B|C url=ws://... \
#       lobby=NAME|"" lobby_file=F gates=DIR compat=0|1 peers=4 burst=200 timeout=S
#
# lobby="" creates the lobby (we are peer 1, "H"). H holds back every
# signaling message until gate "h_go" exists, so that the others connect
# among themselves first and then see peer 1 arrive. Gates (files the runner
# creates in DIR): "send" (RPC round and the unreliable burst), "report"
# (print the counts), "leave" (H closes its mesh and quits).
#
# Lines on stdout for the runner: ID, LINKS n (connected links, also while
# server compatibility hides them), READY, RPC <name> <from>, SENT,
# UNREL <from> <paced> <burst>, EVENTS <what the multiplayer peer signalled>, GONE 1,
# RESULT ok|fail <why>.
extends SceneTree

enum { JOIN, ID, PEER_CONNECT, PEER_DISCONNECT, OFFER, ANSWER, CANDIDATE, SEAL }

var args = {}
var member = ""
var ws = WebSocketClient.new()
var rtc_mp = WebRTCMultiplayer.new()
var my_id = 0
var compat = false
var held = []  # H: signaling messages held until gate h_go
var released = false
var gates = ""
var want = 4
var burst = 200
var deadline = 0
var frame = 0
var events = []  # [frame, "connected 5" | "succeeded" | "disconnected 1" | "server_disconnected"]
var status_before_1 = -1
var status_after_1 = -1
var links_reported = -1
var ready = false
var sent = false
var reported = false
var leaving = false
var leave_at = 0
var unrel = {}  # sender id -> [paced count, burst count]
var main_node


func _init():
	for a in OS.get_cmdline_args():
		var kv = a.split("=", true, 1)
		if kv.size() == 2:
			args[kv[0]] = kv[1]
	member = args.get("name", "?")
	gates = args.get("gates", "")
	compat = args.get("compat", "0") == "1"
	want = int(args.get("peers", "4"))
	burst = int(args.get("burst", "200"))
	deadline = OS.get_ticks_msec() + int(args.get("timeout", "60")) * 1000
	released = args.get("lobby", "") != ""  # only the host holds messages back
	main_node = Node.new()
	main_node.name = "Main"
	main_node.set_script(load("res://main_node.gd"))
	main_node.connect("pinged", self, "_on_pinged")
	root.add_child(main_node)
	rtc_mp.connect("peer_connected", self, "_on_mp", ["connected"])
	rtc_mp.connect("peer_disconnected", self, "_on_mp", ["disconnected"])
	rtc_mp.connect("connection_succeeded", self, "_on_mp", [0, "succeeded"])
	rtc_mp.connect("server_disconnected", self, "_on_mp", [0, "server_disconnected"])
	multiplayer.connect("network_peer_packet", self, "_on_raw")
	ws.connect("connection_established", self, "_on_ws_open")
	ws.connect("data_received", self, "_on_ws_data")
	ws.connect("connection_closed", self, "_on_ws_closed")
	if ws.connect_to_url(args.get("url", "")) != OK:
		end_run("fail cannot connect to the signaling server")


func say(line):
	print(line)


func _on_mp(id, what):
	events.append([frame, what if id == 0 else "%s %d" % [what, id]])
	if what == "connected" and id == 1:
		status_after_1 = rtc_mp.get_connection_status()
	if what == "disconnected" and id == 1:
		say("GONE 1")


func _on_pinged(from_name, sender_id):
	say("RPC %s %d" % [from_name.trim_prefix("from-"), sender_id])


func _on_raw(id, bytes):
	if bytes.size() >= 9 and (bytes[0] == 85 or bytes[0] == 86):  # "U" paced, "V" burst
		if not unrel.has(id):
			unrel[id] = [0, 0]
		unrel[id][bytes[0] - 85] += 1


func send_msg(type, id, data):
	var msg = JSON.print({"type": type, "id": id, "data": data})
	ws.get_peer(1).put_packet(msg.to_utf8())


func _on_ws_open(_protocol):
	ws.get_peer(1).set_write_mode(WebSocketPeer.WRITE_MODE_TEXT)
	send_msg(JOIN, 0, args.get("lobby", ""))  # id 0: a mesh lobby when creating


func _on_ws_closed(_clean):
	# The host leaving closes everyone's signaling (4000): the mesh stays.
	say("LOG signaling closed")


func _on_ws_data():
	var text = ws.get_peer(1).get_packet().get_string_from_utf8()
	var parsed = JSON.parse(text)
	if parsed.error != OK or typeof(parsed.result) != TYPE_DICTIONARY:
		return end_run("fail bad signaling message " + text)
	var m = parsed.result
	if not released and int(m.type) != ID and int(m.type) != JOIN:
		held.append(m)
	else:
		handle(m)


func handle(m):
	var type = int(m.type)
	var id = int(m.id)
	var data = str(m.data)
	match type:
		ID:
			my_id = id
			rtc_mp.initialize(my_id, compat)
			network_peer = rtc_mp
			status_before_1 = rtc_mp.get_connection_status()
			say("ID %s %d" % [member, my_id])
		JOIN:
			var f = File.new()
			if args.get("lobby_file", "") != "" and f.open(args["lobby_file"], File.WRITE) == OK:
				f.store_string(data)
				f.close()
		PEER_CONNECT:
			add_connection(id)
		PEER_DISCONNECT:
			if rtc_mp.has_peer(id):
				rtc_mp.remove_peer(id)
		OFFER, ANSWER:
			if rtc_mp.has_peer(id):
				var pc = rtc_mp.get_peer(id).connection
				pc.set_remote_description("offer" if type == OFFER else "answer", data)
		CANDIDATE:
			var parts = Array(data.split("\n", false))
			if parts.size() == 3 and parts[1].is_valid_integer() and rtc_mp.has_peer(id):
				rtc_mp.get_peer(id).connection.add_ice_candidate(parts[0], int(parts[1]), parts[2])


# As the tutorial: one WebRTCPeerConnection per announced peer, added to the
# multiplayer peer (Godot's default unreliable_lifetime, 1 ms); by the 4.x
# rule the higher id offers. The bind address comes from
# $PEERMESH_BIND_ADDRESS (the runner keeps everything on loopback).
func add_connection(id):
	var pc = WebRTCPeerConnection.new()
	if pc.initialize({"iceServers": []}) != OK:
		return end_run("fail initialize")
	pc.connect("session_description_created", self, "_on_description", [id])
	pc.connect("ice_candidate_created", self, "_on_candidate", [id])
	if rtc_mp.add_peer(pc, id) != OK:
		return end_run("fail add_peer %d" % id)
	if id < my_id:
		pc.create_offer()


func _on_description(type, sdp, id):
	if not rtc_mp.has_peer(id):
		return
	rtc_mp.get_peer(id).connection.set_local_description(type, sdp)
	send_msg(OFFER if type == "offer" else ANSWER, id, sdp)


func _on_candidate(mid, index, cand, id):
	send_msg(CANDIDATE, id, "\n%s\n%d\n%s" % [mid, index, cand])


func gate(g):
	return Directory.new().file_exists(gates + "/" + g)


func connected_links():
	var n = 0
	var peers = rtc_mp.get_peers()
	for id in peers:
		if peers[id].connected:
			n += 1
	return n


func _idle(_delta):
	frame += 1
	ws.poll()
	if OS.get_ticks_msec() > deadline:
		return end_run("fail timeout (links %d, events %s)" % [connected_links(), str(events)])
	if not released and gate("h_go"):
		released = true
		for m in held:
			handle(m)
		held.clear()
	var links = connected_links()
	if links != links_reported:
		links_reported = links
		say("LINKS %d" % links)
	var mp_ok = rtc_mp.get_connection_status() == NetworkedMultiplayerPeer.CONNECTION_CONNECTED
	if not ready and links >= want and mp_ok:
		ready = true
		say("READY")
	if ready and not sent and gate("send"):
		sent = true
		main_node.rpc("ping", "from-" + member)
		for seq in range(burst):
			var pkt = PoolByteArray([85, 0, 0, 0, 0, 0, 0, 0, 0])  # "U", then zeros
			pkt[1] = seq & 255
			multiplayer.send_bytes(pkt, 0, NetworkedMultiplayerPeer.TRANSFER_MODE_UNRELIABLE)
			if seq % 10 == 9:
				rtc_mp.poll()  # a few per frame, as a game would
				OS.delay_usec(1000)
		for seq in range(burst):  # then all at once
			multiplayer.send_bytes(PoolByteArray([86, seq & 255, 0, 0, 0, 0, 0, 0, 0]), 0, NetworkedMultiplayerPeer.TRANSFER_MODE_UNRELIABLE)
		say("SENT")
	if sent and not reported and gate("report"):
		reported = true
		for id in unrel:
			say("UNREL %d %d %d" % [id, unrel[id][0], unrel[id][1]])
	if reported and my_id == 1 and not leaving and gate("leave"):
		leaving = true
		leave_at = frame
		rtc_mp.close()  # closes every connection: the others see peer 1 leave
	if leaving and frame > leave_at + 20:
		return end_run("ok host left")
	if reported and my_id != 1 and has_event("disconnected 1"):
		return end_run(check_signals())
	return false


func has_event(what):
	for e in events:
		if e[1] == what:
			return true
	return false


# What the class reference says server compatibility does, checked against
# what this process saw (and its status before/after peer 1).
func check_signals():
	var names = []
	for e in events:
		names.append(e[1])
	say("EVENTS " + str(names))
	var status_end = rtc_mp.get_connection_status()
	if not compat:
		if has_event("succeeded") or has_event("server_disconnected"):
			return "fail mesh mode emitted server signals: %s" % str(names)
		if status_before_1 != NetworkedMultiplayerPeer.CONNECTION_CONNECTED or status_end != NetworkedMultiplayerPeer.CONNECTION_CONNECTED:
			return "fail mesh mode status %d -> %d (want CONNECTED throughout)" % [status_before_1, status_end]
		if names[0] == "connected 1":
			return "fail peer 1 came first; the gate did not hold it back: %s" % str(names)
		return "ok mesh mode: peer_connected at once, no server signals, peer 1 left"
	# Server compatibility: nothing before peer 1, then peer_connected(1),
	# connection_succeeded and the already connected peers in the same frame.
	if names.size() < 3 or names[0] != "connected 1" or names[1] != "succeeded":
		return "fail server compatibility order: %s" % str(names)
	var burst_count = 0
	for e in events:
		if e[0] == events[1][0] and e[1].begins_with("connected ") and e[1] != "connected 1":
			burst_count += 1
	if burst_count < 1:
		return "fail no peer_connected burst after connection_succeeded: %s" % str(names)
	if status_before_1 != NetworkedMultiplayerPeer.CONNECTION_CONNECTING:
		return "fail status before peer 1 is %d (want CONNECTING)" % status_before_1
	if status_after_1 != NetworkedMultiplayerPeer.CONNECTION_CONNECTED:
		return "fail status after peer 1 is %d (want CONNECTED)" % status_after_1
	var i = names.find("disconnected 1")
	if i < 0 or i + 1 >= names.size() or names[i + 1] != "server_disconnected":
		return "fail no server_disconnected after peer 1 left: %s" % str(names)
	# The class reference says the status then becomes CONNECTED; Godot
	# 3.2.3's code sets DISCONNECTED (docs/godot.md). We report what it does.
	return "ok server compatibility: %d peers held back until peer 1, burst of %d, server_disconnected, status after peer 1 left %d" % [burst_count, burst_count, status_end]


func end_run(why):
	say("RESULT " + why)
	OS.exit_code = 0 if why.begins_with("ok") else 1
	quit()
	return true
