# Helpers shared by the interop scripts (Godot 3.2 GDScript).
extends Reference

# key=value arguments after "--" on the command line.
static func args():
	var out = {}
	for a in OS.get_cmdline_args():
		var kv = a.split("=", true, 1)
		if kv.size() == 2:
			out[kv[0]] = kv[1]
	return out
