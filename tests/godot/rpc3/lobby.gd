# A lobby of peermesh-signal (the signaling demo's 4.x JSON protocol) turned
# into the tree's network_peer: a WebRTCMultiplayer with one
# WebRTCPeerConnection (the peermesh add-on) per member, as the tutorial
# does. Used by client.gd and server.gd with transport=mesh
# (tests/godot3/rpc_mesh.sh); emits `joined(id, lobby)` once we have our id
# and the lobby's name (the server sends them in either order).
extends Node

signal joined(id, lobby)

enum { JOIN, ID, PEER_CONNECT, PEER_DISCONNECT, OFFER, ANSWER, CANDIDATE, SEAL }

var ws = WebSocketClient.new()
var rtc_mp = WebRTCMultiplayer.new()
var my_id = 0
var lobby = ""
var compat = true


# lobby_name "" creates a mesh lobby (we become peer 1).
func start(url, lobby_name, server_compat):
	lobby = lobby_name
	compat = server_compat
	ws.connect("connection_established", self, "_on_open")
	ws.connect("data_received", self, "_on_data")
	return ws.connect_to_url(url)


func _process(_delta):
	ws.poll()


func _send(type, id, data):
	ws.get_peer(1).put_packet(JSON.print({"type": type, "id": id, "data": data}).to_utf8())


func _on_open(_protocol):
	ws.get_peer(1).set_write_mode(WebSocketPeer.WRITE_MODE_TEXT)
	_send(JOIN, 0, lobby)


func _on_data():
	var parsed = JSON.parse(ws.get_peer(1).get_packet().get_string_from_utf8())
	if parsed.error != OK or typeof(parsed.result) != TYPE_DICTIONARY:
		return
	var m = parsed.result
	var type = int(m.type)
	var id = int(m.id)
	var data = str(m.data)
	match type:
		JOIN:
			lobby = data
			if my_id:
				emit_signal("joined", my_id, lobby)
		ID:
			my_id = id
			rtc_mp.initialize(my_id, compat)
			get_tree().network_peer = rtc_mp
			if lobby != "":
				emit_signal("joined", my_id, lobby)
		PEER_CONNECT:
			_add(id)
		PEER_DISCONNECT:
			if rtc_mp.has_peer(id):
				rtc_mp.remove_peer(id)
		OFFER, ANSWER:
			if rtc_mp.has_peer(id):
				rtc_mp.get_peer(id).connection.set_remote_description(
					"offer" if type == OFFER else "answer", data)
		CANDIDATE:
			var parts = Array(data.split("\n", false))
			if parts.size() == 3 and parts[1].is_valid_integer() and rtc_mp.has_peer(id):
				rtc_mp.get_peer(id).connection.add_ice_candidate(parts[0], int(parts[1]), parts[2])


# The higher id offers (the 4.x demo's rule).
func _add(id):
	var pc = WebRTCPeerConnection.new()
	if pc.initialize({"iceServers": []}) != OK:
		print("LOG cannot initialize a WebRTCPeerConnection (is the add-on loaded?)")
		return
	pc.connect("session_description_created", self, "_on_description", [id])
	pc.connect("ice_candidate_created", self, "_on_candidate", [id])
	rtc_mp.add_peer(pc, id)
	if id < my_id:
		pc.create_offer()


func _on_description(type, sdp, id):
	if rtc_mp.has_peer(id):
		rtc_mp.get_peer(id).connection.set_local_description(type, sdp)
		_send(OFFER if type == "offer" else ANSWER, id, sdp)


func _on_candidate(mid, index, cand, id):
	_send(CANDIDATE, id, "\n%s\n%d\n%s" % [mid, index, cand])
