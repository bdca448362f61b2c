# Godot 3.2's WebSocketClient against peermesh-signal, 3.x text protocol
# (the demo's ws_webrtc_client.gd messages: J I N D S O A C).
#
#   host   connects, creates a lobby ("J: "), must get "I: 1" then "J: <lobby>"
#   b, c   join by name: each gets its id (2..2^31-1, unique), "N: 1" and the
#          peers already there; the others get "N: <id>"
#   ext    (expect_external=1) once b and c are in, the lobby name goes to
#          lobby_file and the runner starts a C client (`peermesh chat`, 4.x
#          JSON protocol): the host must see it come (N:) and go (D:)
#   c      leaves: host and b get "D: <c>"
#   d      joins, then offers to a peer that is not there: closed with 4000
#          "Invalid destination" (server_close_request)
#   host   seals: everyone gets "S: ", then the server closes them with 1000
#          "Seal complete" after its seal delay
#
# Prints "RESULT ok ..." or "RESULT fail <why>" and quits 0 / 1.
extends SceneTree

var url = ""
var lobby_file = ""
var expect_external = false
var deadline = 0
var clients = {}  # name -> {ws, id, lobby, peers: [], gone: [], sealed, close_code, close_reason, closed}
var lobby = ""
var stage = "create"
var external = 0
var external_gone = false
var bad = ""


func _args():
	var out = {}
	for a in OS.get_cmdline_args():
		var kv = a.split("=", true, 1)
		if kv.size() == 2:
			out[kv[0]] = kv[1]
	return out


func _init():
	var a = _args()
	url = a.get("url", "")
	lobby_file = a.get("lobby_file", "")
	expect_external = a.get("expect_external", "0") == "1"
	deadline = OS.get_ticks_msec() + int(a.get("timeout", "20")) * 1000
	OS.low_processor_usage_mode_sleep_usec = 1000
	_open("host", "")


func _open(name, join_lobby):
	var ws = WebSocketClient.new()
	ws.connect("connection_established", self, "_on_open", [name])
	ws.connect("data_received", self, "_on_data", [name])
	ws.connect("connection_closed", self, "_on_closed", [name])
	ws.connect("connection_error", self, "_on_error", [name])
	ws.connect("server_close_request", self, "_on_close_request", [name])
	clients[name] = {"ws": ws, "id": 0, "lobby": "", "join": join_lobby, "peers": [], "gone": [],
		"sealed": false, "close_code": 0, "close_reason": "", "closed": false}
	var err = ws.connect_to_url(url)
	if err != OK:
		bad = "%s: connect_to_url error %d" % [name, err]


func _send(name, text):
	var peer = clients[name].ws.get_peer(1)
	peer.set_write_mode(WebSocketPeer.WRITE_MODE_TEXT)
	peer.put_packet(text.to_utf8())


func _on_open(_protocol, name):
	# As the demo client: join at once, "J: " + lobby name ("" creates one).
	_send(name, "J: %s\n" % clients[name].join)


func _on_error(name):
	bad = "%s: connection error" % name


func _on_close_request(code, reason, name):
	clients[name].close_code = code
	clients[name].close_reason = reason


func _on_closed(_clean, name):
	clients[name].closed = true


func _on_data(name):
	var c = clients[name]
	var pkt = c.ws.get_peer(1).get_packet().get_string_from_utf8()
	var req = pkt.split("\n", true, 1)
	if req.size() != 2 or req[0].length() < 3:
		bad = "%s: malformed message %s" % [name, pkt]
		return
	var cmd = req[0]
	var arg = cmd.substr(3, cmd.length() - 3)
	if cmd.begins_with("J: "):
		c.lobby = arg
	elif cmd.begins_with("S: "):
		c.sealed = true
	elif cmd.begins_with("I: "):
		c.id = int(arg)
		if c.id < 1 or (name == "host") != (c.id == 1):
			bad = "%s: bad id %s" % [name, arg]
	elif cmd.begins_with("N: "):
		c.peers.append(int(arg))
	elif cmd.begins_with("D: "):
		c.gone.append(int(arg))
	elif cmd.begins_with("O: ") or cmd.begins_with("A: ") or cmd.begins_with("C: "):
		pass  # the C client offers WebRTC to the host: nothing to do here
	else:
		bad = "%s: unexpected message %s" % [name, pkt]


func _joined(name):
	return clients.has(name) and clients[name].id != 0 and clients[name].lobby != ""


func _summary():
	var parts = []
	for n in clients:
		var c = clients[n]
		parts.append("%s(id=%d peers=%s gone=%s close=%d)" % [n, c.id, str(c.peers), str(c.gone), c.close_code])
	return "lobby=%s stage=%s external=%d %s" % [lobby, stage, external, PoolStringArray(parts).join(" ")]


func _step():
	var host = clients["host"]
	if stage == "create":
		if _joined("host"):
			if host.lobby.length() != 16:
				bad = "lobby name %s" % host.lobby
				return
			lobby = host.lobby
			_open("b", lobby)
			stage = "b"
	elif stage == "b":
		if _joined("b") and host.peers.has(clients.b.id):
			if clients.b.peers != [1]:
				bad = "b was told of %s, not [1]" % str(clients.b.peers)
				return
			_open("c", lobby)
			stage = "c"
	elif stage == "c":
		if _joined("c") and host.peers.has(clients.c.id) and clients.b.peers.has(clients.c.id):
			var want = [1, clients.b.id]
			if clients.c.peers != want or clients.c.id == clients.b.id:
				bad = "c was told of %s, not %s" % [str(clients.c.peers), str(want)]
				return
			if expect_external:
				# Now the runner may start its C client: c's peer list is checked.
				var f = File.new()
				f.open(lobby_file, File.WRITE)
				f.store_string(lobby)
				f.close()
				stage = "external"
			else:
				stage = "c_leaves"
	elif stage == "external":
		for id in host.peers:
			if id != clients.b.id and id != clients.c.id:
				external = id
		if external != 0 and host.gone.has(external):
			external_gone = true
			stage = "c_leaves"
	elif stage == "c_leaves":
		if not clients.c.closed and clients.c.close_code == 0:
			clients.c.ws.disconnect_from_host(1000, "bye")
			clients.c.close_code = -1
		if host.gone.has(clients.c.id) and clients.b.gone.has(clients.c.id):
			_open("d", lobby)
			stage = "d"
	elif stage == "d":
		if _joined("d") and clients.d.close_code == 0 and not clients.d.has("offered"):
			clients.d["offered"] = true
			_send("d", "O: 2147483646\nv=0\r\n")
		if clients.d.close_code != 0:
			if clients.d.close_code != 4000 or clients.d.close_reason != "Invalid destination":
				bad = "d closed with %d %s" % [clients.d.close_code, clients.d.close_reason]
				return
			if host.gone.has(clients.d.id) and clients.b.gone.has(clients.d.id):
				_send("host", "S: \n")
				stage = "seal"
	elif stage == "seal":
		if host.sealed and clients.b.sealed and host.close_code == 1000 and clients.b.close_code == 1000:
			if host.close_reason != "Seal complete":
				bad = "seal close reason %s" % host.close_reason
				return
			stage = "done"


func _idle(_delta):
	for n in clients:
		var ws = clients[n].ws
		if ws.get_connection_status() != NetworkedMultiplayerPeer.CONNECTION_DISCONNECTED:
			ws.poll()
	if bad == "":
		_step()
	if bad != "":
		print("RESULT fail ", bad, " ", _summary())
		quit(1)
	elif stage == "done":
		print("RESULT ok ", _summary())
		quit(0)
	elif OS.get_ticks_msec() > deadline:
		print("RESULT fail timeout ", _summary())
		quit(1)
	return false
