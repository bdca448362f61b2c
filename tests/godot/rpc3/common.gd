# Helpers shared by the RPC interop scripts (Godot 3.2 GDScript).
extends Reference

# Godot 3.2 has no variadic functions: echo(...) and echo_reply(...) take up
# to 32 arguments, and the ones not given keep this value.
const NONE = "__pm_none__"


# key=value arguments after "--" on the command line.
static func args():
	var out = {}
	for a in OS.get_cmdline_args():
		var kv = a.split("=", true, 1)
		if kv.size() == 2:
			out[kv[0]] = kv[1]
	return out


# The arguments actually given.
static func collect(all):
	var out = []
	for v in all:
		if typeof(v) == TYPE_STRING and v == NONE:
			break
		out.append(v)
	return out


# One value of every Variant type (tests/tools/cmd_rpc_probe.c sends the same
# ones from C, with an object id for `obj`).
static func samples(obj):
	var basis = Basis(Vector3(1, 4, 7), Vector3(2, 5, 8), Vector3(3, 6, 9))
	return [null, true, 42, 1 << 40, -1.5, 0.1, "h\u00e9llo", Vector2(1, 2), Rect2(1, 2, 3, 4),
		Vector3(1, 2, 3), Transform2D(Vector2(1, 2), Vector2(3, 4), Vector2(5, 6)),
		Plane(1, 2, 3, 4), Quat(1, 2, 3, 4), AABB(Vector3(1, 2, 3), Vector3(4, 5, 6)), basis,
		Transform(basis, Vector3(10, 11, 12)), Color(1, 2, 3, 4), NodePath("/root/Echo:x"),
		RID(), obj, {"a": 1, 2: [3.5]}, [2, [3.5]], PoolByteArray([0, 1, 255]),
		PoolIntArray([1, -2, 2147483647]), PoolRealArray([1.5, -2.5]),
		PoolStringArray(["a", "", "\u00fc"]), PoolVector2Array([Vector2(1, 2)]),
		PoolVector3Array([Vector3(1, 2, 3)]), PoolColorArray([Color(1, 0, 0, 1)])]


# Did `got` come back as `sent` went out? Objects travel as instance ids
# (EncodedObjectAsID on arrival): a C server sends our id back, a Godot
# server the id of the EncodedObjectAsID it made of it (exact_objects false).
# NodePath bytes carry garbage padding, so paths compare as text.
static func same(sent, got, exact_objects = true):
	if typeof(sent) != typeof(got):
		return false
	match typeof(sent):
		TYPE_OBJECT:
			if sent is EncodedObjectAsID or not exact_objects:
				return got is EncodedObjectAsID
			return got is EncodedObjectAsID and got.get_object_id() == sent.get_instance_id()
		TYPE_NODE_PATH:
			return str(sent) == str(got)
		TYPE_ARRAY:
			if sent.size() != got.size():
				return false
			for i in range(sent.size()):
				if not same(sent[i], got[i], exact_objects):
					return false
			return true
		TYPE_DICTIONARY:
			return (same(sent.keys(), got.keys(), exact_objects)
				and same(sent.values(), got.values(), exact_objects))
	return var2bytes(sent).hex_encode() == var2bytes(got).hex_encode()
