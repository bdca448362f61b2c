/*
 * gd3_glue.c — calling into the engine: strings, variants, dictionaries,
 * logging, signals, and attaching our NativeScript classes to objects.
 */
#include "gd3.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const gd_core_api *gd3_api;
const gd_nativescript_api *gd3_ns;
const gd_net_3_2_api *gd3_net;
gd_object *gd3_library;
gd3_stats gd3_live;

static gd_method_bind *mb_emit_signal;
static gd_method_bind *mb_set_script;
static gd_method_bind *mb_set_library;
static gd_method_bind *mb_set_class_name;
static gd_class_constructor new_native_script;

/*
 * One NativeScript resource per class, shared by every object we script (a
 * script attached to many objects is ordinary Godot). The variant holds our
 * reference to it; made on first use, after the engine initialised our
 * library for NativeScript.
 */
typedef struct cached_script {
    const char *class_name;
    gd_variant ref;
    bool made;
} cached_script;
static cached_script scripts[2] = {{.class_name = GD3_PEER_CLASS},
                                   {.class_name = GD3_CHANNEL_CLASS}};

static void vlog(bool error, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (!gd3_api) {
        fprintf(stderr, "peermesh: %s\n", msg);
        return;
    }
    if (error)
        gd3_api->print_error(msg, "peermesh", "libpeermesh_godot3", 0);
    else
        gd3_api->print_warning(msg, "peermesh", "libpeermesh_godot3", 0);
}

void gd3_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(true, fmt, ap);
    va_end(ap);
}

void gd3_warning(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(false, fmt, ap);
    va_end(ap);
}

/* peermesh's log sink: errors and warnings as Godot's, the rest as prints. */
static void pm_log_sink(void *ud, pm_log_level level, const char *component, const char *msg)
{
    (void)ud;
    if (level == PM_LOG_ERROR) {
        gd3_error("%s: %s", component, msg);
    } else if (level == PM_LOG_WARN) {
        gd3_warning("%s: %s", component, msg);
    } else if (gd3_api) {
        char line[1024];
        snprintf(line, sizeof line, "peermesh %s: %s", component, msg);
        gd_string s;
        gd3_api->string_new(&s);
        gd3_api->string_parse_utf8(&s, line);
        gd3_api->print(&s);
        gd3_api->string_destroy(&s);
    }
}

const pm_env *gd3_env(void)
{
    static pm_env env = {.log = pm_log_sink};
    return &env;
}

gd_error gd3_error_from_pm(int err)
{
    switch (err) {
    case PM_OK:
        return GD_OK;
    case PM_ERR_INVALID:
        return GD_ERR_INVALID_PARAMETER;
    case PM_ERR_NOMEM:
        return GD_ERR_OUT_OF_MEMORY;
    case PM_ERR_AGAIN:
        return GD_ERR_UNAVAILABLE;
    case PM_ERR_STATE:
    case PM_ERR_CLOSED:
        return GD_ERR_UNCONFIGURED;
    case PM_ERR_PARSE:
        return GD_ERR_PARSE_ERROR;
    case PM_ERR_TOO_BIG:
        return GD_ERR_PARAMETER_RANGE_ERROR;
    case PM_ERR_IO:
        return GD_ERR_CANT_CREATE;
    case PM_ERR_UNSUPPORTED:
        return GD_ERR_UNAVAILABLE;
    case PM_ERR_TIMEOUT:
        return GD_ERR_TIMEOUT;
    case PM_ERR_EXISTS:
        return GD_ERR_ALREADY_EXISTS;
    case PM_ERR_REENTRANT:
    case PM_ERR_FULL:
        return GD_ERR_BUSY;
    case PM_ERR_AUTH:
        return GD_ERR_INVALID_DATA;
    default:
        return GD_FAILED;
    }
}

void gd3_variant_from_cstr(gd_variant *out, const char *s)
{
    gd_string str;
    gd3_api->string_new(&str);
    gd3_api->string_parse_utf8(&str, s ? s : "");
    gd3_api->variant_new_string(out, &str);
    gd3_api->string_destroy(&str);
}

char *gd3_variant_to_cstr(const gd_variant *v)
{
    gd_string s = gd3_api->variant_as_string(v);
    gd_char_string cs = gd3_api->string_utf8(&s);
    const char *data = gd3_api->char_string_get_data(&cs);
    gd_int len = gd3_api->char_string_length(&cs);
    char *out = NULL;
    if (len >= 0) {
        out = malloc((size_t)len + 1);
        if (out) {
            if (len)
                memcpy(out, data, (size_t)len);
            out[len] = '\0';
        }
    }
    gd3_api->char_string_destroy(&cs);
    gd3_api->string_destroy(&s);
    return out;
}

bool gd3_dict_get(const gd_dictionary *dict, const char *key, gd_variant *out)
{
    if (!dict)
        return false;
    gd_variant k;
    gd3_variant_from_cstr(&k, key);
    bool has = gd3_api->dictionary_has(dict, &k);
    if (has)
        *out = gd3_api->dictionary_get(dict, &k);
    gd3_api->variant_destroy(&k);
    return has;
}

/* Call a method with variant arguments; the result is discarded. */
static bool call_method(gd_method_bind *mb, gd_object *obj, const gd_variant **args, int n,
                        const char *what)
{
    gd_call_error err = {0};
    gd_variant ret = gd3_api->method_bind_call(mb, obj, args, n, &err);
    gd3_api->variant_destroy(&ret);
    if (err.error != 0) {
        gd3_error("%s: call failed (Variant::CallError %d, argument %d)", what, err.error,
                  err.argument);
        return false;
    }
    return true;
}

bool gd3_emit(gd_object *owner, const char *signal, const gd_variant **args, int n)
{
    const gd_variant *all[4];
    gd_variant name;
    if (n > 3)
        return false;
    gd3_variant_from_cstr(&name, signal);
    all[0] = &name;
    for (int i = 0; i < n; i++)
        all[i + 1] = args[i];
    bool ok = call_method(mb_emit_signal, owner, all, n + 1, signal);
    gd3_api->variant_destroy(&name);
    return ok;
}

static cached_script *script_for(const char *class_name)
{
    cached_script *s = strcmp(class_name, GD3_PEER_CLASS) == 0 ? &scripts[0] : &scripts[1];
    if (s->made)
        return s;
    gd_object *obj = new_native_script();
    if (!obj) {
        gd3_error("cannot construct a NativeScript");
        return NULL;
    }
    gd3_api->variant_new_object(&s->ref, obj); /* claims the new object's reference */
    gd_variant lib, name;
    gd3_api->variant_new_object(&lib, gd3_library);
    gd3_variant_from_cstr(&name, class_name);
    const gd_variant *a1[] = {&lib}, *a2[] = {&name};
    bool ok = call_method(mb_set_library, obj, a1, 1, "NativeScript.set_library") &&
              call_method(mb_set_class_name, obj, a2, 1, "NativeScript.set_class_name");
    gd3_api->variant_destroy(&lib);
    gd3_api->variant_destroy(&name);
    if (!ok) {
        gd3_api->variant_destroy(&s->ref);
        return NULL;
    }
    s->made = true;
    return s;
}

bool gd3_attach_script(gd_object *obj, const char *class_name, void **userdata)
{
    *userdata = NULL;
    cached_script *script = script_for(class_name);
    if (!script)
        return false;
    const gd_variant *args[] = {&script->ref};
    if (call_method(mb_set_script, obj, args, 1, "Object.set_script"))
        *userdata = gd3_ns->get_userdata(obj);
    if (!*userdata)
        gd3_error("cannot attach %s to an object", class_name);
    return *userdata != NULL;
}

gd_object *gd3_new_scripted(const char *base_class, const char *class_name, void **userdata)
{
    *userdata = NULL;
    gd_class_constructor ctor = gd3_api->get_class_constructor(base_class);
    gd_object *obj = ctor ? ctor() : NULL;
    if (!obj) {
        gd3_error("cannot construct a %s", base_class);
        return NULL;
    }
    if (!gd3_attach_script(obj, class_name, userdata)) {
        gd3_api->object_destroy(obj); /* never referenced: nobody else knows it */
        return NULL;
    }
    return obj;
}

bool gd3_glue_init(void)
{
    mb_emit_signal = gd3_api->method_bind_get_method("Object", "emit_signal");
    mb_set_script = gd3_api->method_bind_get_method("Object", "set_script");
    mb_set_library = gd3_api->method_bind_get_method("NativeScript", "set_library");
    mb_set_class_name = gd3_api->method_bind_get_method("NativeScript", "set_class_name");
    new_native_script = gd3_api->get_class_constructor("NativeScript");
    if (!mb_emit_signal || !mb_set_script || !mb_set_library || !mb_set_class_name ||
        !new_native_script) {
        gd3_error("this engine lacks Object.emit_signal/set_script or NativeScript; "
                  "is the gdnative module built in?");
        return false;
    }
    return true;
}

void gd3_glue_terminate(void)
{
    for (size_t i = 0; i < sizeof scripts / sizeof scripts[0]; i++) {
        if (scripts[i].made) {
            scripts[i].made = false;
            gd3_api->variant_destroy(&scripts[i].ref);
        }
    }
}
