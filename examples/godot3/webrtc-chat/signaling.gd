# A client of the Godot signaling demo's 4.x JSON protocol (what
# peermesh-signal speaks) that builds the tutorial's WebRTCMultiplayer mesh:
# one WebRTCPeerConnection per announced peer, added with add_peer(); the
# peer with the higher id makes the offer. Set it as get_tree().network_peer
# once `joined` fires and use rpc() as usual.
extends Node

signal joined(lobby, id)  # we have our id; the mesh exists
signal closed(code, reason)  # signaling is gone (the mesh lives on)

enum { JOIN, ID, PEER_CONNECT, PEER_DISCONNECT, OFFER, ANSWER, CANDIDATE, SEAL }

var ws = WebSocketClient.new()
var rtc_mp = WebRTCMultiplayer.new()
var ice_servers = []  # on real networks: your own STUN/TURN servers, as {"urls": [...]} dictionaries
var my_id = 0
var lobby = ""
var _join = ""


func _init():
	ws.connect("connection_established", self, "_on_open")
	ws.connect("data_received", self, "_on_data")
	ws.connect("connection_closed", self, "_on_closed")
	ws.connect("connection_error", self, "_on_closed", [false])
	ws.connect("server_close_request", self, "_on_close_request")


# Connect to the server and create a lobby (lobby_name "") or join one.
func join(url, lobby_name):
	_join = lobby_name
	return ws.connect_to_url(url)


func _process(_delta):
	ws.poll()


func _send(type, id, data):
	ws.get_peer(1).put_packet(JSON.print({"type": type, "id": id, "data": data}).to_utf8())


func _on_open(_protocol):
	ws.get_peer(1).set_write_mode(WebSocketPeer.WRITE_MODE_TEXT)
	_send(JOIN, 0, _join)  # id 0: a mesh lobby when creating one


func _on_close_request(code, reason):
	emit_signal("closed", code, reason)


func _on_closed(_clean):
	emit_signal("closed", 0, "")


func _on_data():
	var parsed = JSON.parse(ws.get_peer(1).get_packet().get_string_from_utf8())
	if parsed.error != OK or typeof(parsed.result) != TYPE_DICTIONARY:
		return
	var m = parsed.result
	var id = int(m.get("id", 0))
	var data = str(m.get("data", ""))
	match int(m.get("type", -1)):
		ID:
			my_id = id
			rtc_mp.initialize(my_id, false)  # a mesh: everyone talks to everyone
		JOIN:
			lobby = data
			emit_signal("joined", lobby, my_id)
		PEER_CONNECT:
			_add_peer(id)
		PEER_DISCONNECT:
			if rtc_mp.has_peer(id):
				rtc_mp.remove_peer(id)
		OFFER:
			if rtc_mp.has_peer(id):
				rtc_mp.get_peer(id).connection.set_remote_description("offer", data)
		ANSWER:
			if rtc_mp.has_peer(id):
				rtc_mp.get_peer(id).connection.set_remote_description("answer", data)
		CANDIDATE:
			var parts = Array(data.split("\n", false))
			if parts.size() == 3 and parts[1].is_valid_integer() and rtc_mp.has_peer(id):
				rtc_mp.get_peer(id).connection.add_ice_candidate(parts[0], int(parts[1]), parts[2])


func _add_peer(id):
	var pc = WebRTCPeerConnection.new()
	pc.initialize({"iceServers": ice_servers})
	pc.connect("session_description_created", self, "_on_description", [id])
	pc.connect("ice_candidate_created", self, "_on_candidate", [id])
	# 100 ms instead of the 1 ms default: unreliable packets get a real chance
	# to arrive (docs/godot.md, "unreliable_lifetime").
	rtc_mp.add_peer(pc, id, 100)
	if id < my_id:
		pc.create_offer()


func _on_description(type, sdp, id):
	rtc_mp.get_peer(id).connection.set_local_description(type, sdp)
	_send(OFFER if type == "offer" else ANSWER, id, sdp)


func _on_candidate(mid, index, cand, id):
	_send(CANDIDATE, id, "\n%s\n%d\n%s" % [mid, index, cand])
