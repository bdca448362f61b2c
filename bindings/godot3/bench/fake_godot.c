/* fake_godot.c — see fake_godot.h. Single-threaded, like the add-on. */
#define _GNU_SOURCE
#include "fake_godot.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fake_object {
    const char *base; /* engine class */
    int refs;
    bool unclaimed;           /* a new Reference's first reference */
    fake_object *script;      /* the attached NativeScript object */
    const char *script_class; /* NativeScript objects: the class they name */
    void *userdata;           /* our instance data */
    const gd_webrtc_peer_connection *pc;
    const gd_webrtc_data_channel *dc;
};

typedef struct fdict {
    int refs;
    size_t n;
    char *keys[16];
    gd_variant values[16];
} fdict;

typedef struct farr {
    int refs;
    size_t n;
    gd_variant items[16];
} farr;

/* What lives in a gd_variant's 24 bytes. */
typedef struct fv {
    int type;
    union {
        bool b;
        int64_t i;
        double r;
        char *s;
        fake_object *o;
        fdict *d;
        farr *a;
    } u;
} fv;
_Static_assert(sizeof(fv) <= sizeof(gd_variant), "fits a variant");

static fv *FV(gd_variant *v)
{
    return (fv *)(void *)v;
}
static const fv *CFV(const gd_variant *v)
{
    return (const fv *)(const void *)v;
}
static char *S(const gd_string *s)
{
    char *p;
    memcpy(&p, s, sizeof p);
    return p;
}
static void set_S(gd_string *s, char *p)
{
    memcpy(s, &p, sizeof p);
}
static fdict *D(const gd_dictionary *d)
{
    fdict *p;
    memcpy(&p, d, sizeof p);
    return p;
}
static farr *A(const gd_array *a)
{
    farr *p;
    memcpy(&p, a, sizeof p);
    return p;
}

/* ---- registered classes, library state -------------------------------- */

typedef struct fclass {
    char name[64];
    gd_instance_create_func create;
    gd_instance_destroy_func destroy;
} fclass;
static fclass classes[4];
static size_t class_count;
static const gd_webrtc_library *webrtc_lib;
static fake_signal_fn signal_fn;
static void *signal_ud;
static void *lib_handle;
static fake_object *gdnlib;
static void (*entry_terminate)(gd_terminate_options *);

static char mb_emit, mb_set_script, mb_set_library, mb_set_class_name;

static fake_object *object_new(const char *base)
{
    fake_object *o = calloc(1, sizeof *o);
    o->base = base;
    o->refs = 1;
    o->unclaimed = true;
    return o;
}

static void detach_script(fake_object *o)
{
    if (!o->script)
        return;
    for (size_t i = 0; i < class_count; i++) {
        if (strcmp(classes[i].name, o->script->script_class) == 0)
            classes[i].destroy.destroy_func(o, classes[i].destroy.method_data, o->userdata);
    }
    o->userdata = NULL;
    fake_object *s = o->script;
    o->script = NULL;
    fake_object_unref(s);
}

void fake_object_ref(fake_object *o)
{
    if (o->unclaimed)
        o->unclaimed = false;
    else
        o->refs++;
}

void fake_object_unref(fake_object *o)
{
    if (!o || --o->refs > 0)
        return;
    detach_script(o);
    free((void *)o->script_class);
    free(o);
}

/* ---- values ------------------------------------------------------------- */

static void v_destroy(gd_variant *v)
{
    fv *f = FV(v);
    if (f->type == GD_TYPE_STRING) {
        free(f->u.s);
    } else if (f->type == GD_TYPE_OBJECT) {
        fake_object_unref(f->u.o);
    } else if (f->type == GD_TYPE_DICTIONARY && --f->u.d->refs == 0) {
        for (size_t i = 0; i < f->u.d->n; i++) {
            free(f->u.d->keys[i]);
            v_destroy(&f->u.d->values[i]);
        }
        free(f->u.d);
    } else if (f->type == GD_TYPE_ARRAY && --f->u.a->refs == 0) {
        for (size_t i = 0; i < f->u.a->n; i++)
            v_destroy(&f->u.a->items[i]);
        free(f->u.a);
    }
    memset(v, 0, sizeof *v);
}

static void v_copy(gd_variant *dst, const gd_variant *src)
{
    *dst = *src;
    fv *f = FV(dst);
    if (f->type == GD_TYPE_STRING)
        f->u.s = strdup(f->u.s);
    else if (f->type == GD_TYPE_OBJECT)
        fake_object_ref(f->u.o);
    else if (f->type == GD_TYPE_DICTIONARY)
        f->u.d->refs++;
    else if (f->type == GD_TYPE_ARRAY)
        f->u.a->refs++;
}

static void v_new_dictionary(gd_variant *v, const gd_dictionary *d);

static int v_get_type(const gd_variant *v)
{
    return CFV(v)->type;
}
static void v_new_nil(gd_variant *v)
{
    memset(v, 0, sizeof *v);
}
void fake_variant_bool(gd_variant *v, bool b)
{
    v_new_nil(v);
    FV(v)->type = GD_TYPE_BOOL;
    FV(v)->u.b = b;
}
static void v_new_bool(gd_variant *v, gd_bool b)
{
    fake_variant_bool(v, b);
}
void fake_variant_int(gd_variant *v, int64_t i)
{
    v_new_nil(v);
    FV(v)->type = GD_TYPE_INT;
    FV(v)->u.i = i;
}
void fake_variant_string(gd_variant *v, const char *s)
{
    v_new_nil(v);
    FV(v)->type = GD_TYPE_STRING;
    FV(v)->u.s = strdup(s);
}
static void v_new_string(gd_variant *v, const gd_string *s)
{
    fake_variant_string(v, S(s) ? S(s) : "");
}
static void v_new_object(gd_variant *v, const gd_object *o)
{
    v_new_nil(v);
    if (!o)
        return;
    FV(v)->type = GD_TYPE_OBJECT;
    FV(v)->u.o = (fake_object *)o;
    fake_object_ref((fake_object *)o);
}
void fake_variant_dictionary(gd_variant *v, const gd_dictionary *d)
{
    v_new_dictionary(v, d);
}

static void v_new_dictionary(gd_variant *v, const gd_dictionary *d)
{
    v_new_nil(v);
    FV(v)->type = GD_TYPE_DICTIONARY;
    FV(v)->u.d = D(d);
    D(d)->refs++;
}
static gd_bool v_as_bool(const gd_variant *v)
{
    const fv *f = CFV(v);
    return f->type == GD_TYPE_BOOL ? f->u.b : f->type == GD_TYPE_INT ? f->u.i != 0 : false;
}
static int64_t v_as_int(const gd_variant *v)
{
    const fv *f = CFV(v);
    return f->type == GD_TYPE_INT    ? f->u.i
           : f->type == GD_TYPE_REAL ? (int64_t)f->u.r
           : f->type == GD_TYPE_BOOL ? f->u.b
                                     : 0;
}
static double v_as_real(const gd_variant *v)
{
    return CFV(v)->type == GD_TYPE_REAL ? CFV(v)->u.r : (double)v_as_int(v);
}
static gd_string v_as_string(const gd_variant *v)
{
    gd_string s;
    char buf[32];
    const fv *f = CFV(v);
    if (f->type == GD_TYPE_STRING) {
        set_S(&s, strdup(f->u.s));
    } else {
        snprintf(buf, sizeof buf, "%lld", (long long)v_as_int(v));
        set_S(&s, strdup(buf));
    }
    return s;
}
static gd_object *v_as_object(const gd_variant *v)
{
    return CFV(v)->type == GD_TYPE_OBJECT ? CFV(v)->u.o : NULL;
}
static gd_dictionary v_as_dictionary(const gd_variant *v)
{
    gd_dictionary d;
    fdict *p = CFV(v)->u.d;
    p->refs++;
    memcpy(&d, &p, sizeof p);
    return d;
}
static gd_array v_as_array(const gd_variant *v)
{
    gd_array a;
    farr *p = CFV(v)->u.a;
    p->refs++;
    memcpy(&a, &p, sizeof p);
    return a;
}
const char *fake_variant_cstr(const gd_variant *v)
{
    return CFV(v)->type == GD_TYPE_STRING ? CFV(v)->u.s : NULL;
}
int64_t fake_variant_int_value(const gd_variant *v)
{
    return v_as_int(v);
}
fake_object *fake_variant_object(const gd_variant *v)
{
    return v_as_object(v);
}
void fake_variant_free(gd_variant *v)
{
    v_destroy(v);
}

static gd_int cs_length(const gd_char_string *cs)
{
    return (gd_int)strlen(S((const gd_string *)cs));
}
static const char *cs_get_data(const gd_char_string *cs)
{
    return S((const gd_string *)cs);
}
static void cs_destroy(gd_char_string *cs)
{
    free(S((gd_string *)cs));
}
static void s_new(gd_string *s)
{
    set_S(s, strdup(""));
}
static gd_char_string s_utf8(const gd_string *s)
{
    gd_char_string cs;
    char *p = strdup(S(s));
    memcpy(&cs, &p, sizeof p);
    return cs;
}
static gd_bool s_parse_utf8(gd_string *s, const char *utf8)
{
    free(S(s));
    set_S(s, strdup(utf8));
    return false;
}
static gd_bool s_parse_utf8_len(gd_string *s, const char *utf8, gd_int len)
{
    free(S(s));
    set_S(s, strndup(utf8, (size_t)len));
    return false;
}
static void s_destroy(gd_string *s)
{
    free(S(s));
}

gd_dictionary fake_dict_new(void)
{
    gd_dictionary d;
    fdict *p = calloc(1, sizeof *p);
    p->refs = 1;
    memcpy(&d, &p, sizeof p);
    return d;
}
void fake_dict_set(gd_dictionary *d, const char *key, const gd_variant *value)
{
    fdict *p = D(d);
    p->keys[p->n] = strdup(key);
    v_copy(&p->values[p->n], value);
    p->n++;
}
static void dict_destroy(gd_dictionary *d)
{
    gd_variant v;
    v_new_nil(&v);
    FV(&v)->type = GD_TYPE_DICTIONARY;
    FV(&v)->u.d = D(d);
    v_destroy(&v);
}
void fake_dict_free(gd_dictionary *d)
{
    dict_destroy(d);
}
static int dict_find(const gd_dictionary *d, const gd_variant *key)
{
    fdict *p = D(d);
    const char *k = fake_variant_cstr(key);
    for (size_t i = 0; k && i < p->n; i++) {
        if (strcmp(p->keys[i], k) == 0)
            return (int)i;
    }
    return -1;
}
static gd_bool dict_has(const gd_dictionary *d, const gd_variant *key)
{
    return dict_find(d, key) >= 0;
}
static gd_variant dict_get(const gd_dictionary *d, const gd_variant *key)
{
    gd_variant out;
    int i = dict_find(d, key);
    if (i < 0)
        v_new_nil(&out);
    else
        v_copy(&out, &D(d)->values[i]);
    return out;
}
static gd_variant arr_get(const gd_array *a, gd_int i)
{
    gd_variant out;
    v_copy(&out, &A(a)->items[i]);
    return out;
}
static gd_int arr_size(const gd_array *a)
{
    return (gd_int)A(a)->n;
}
static void arr_destroy(gd_array *a)
{
    gd_variant v;
    v_new_nil(&v);
    FV(&v)->type = GD_TYPE_ARRAY;
    FV(&v)->u.a = A(a);
    v_destroy(&v);
}

/* ---- objects, method binds, printing ------------------------------------- */

static void obj_destroy(gd_object *o)
{
    fake_object *f = o;
    f->refs = 1;
    fake_object_unref(f);
}

static gd_method_bind *get_method(const char *cls, const char *method)
{
    if (strcmp(method, "emit_signal") == 0)
        return (gd_method_bind *)&mb_emit;
    if (strcmp(method, "set_script") == 0)
        return (gd_method_bind *)&mb_set_script;
    if (strcmp(cls, "NativeScript") == 0 && strcmp(method, "set_library") == 0)
        return (gd_method_bind *)&mb_set_library;
    if (strcmp(cls, "NativeScript") == 0 && strcmp(method, "set_class_name") == 0)
        return (gd_method_bind *)&mb_set_class_name;
    return NULL;
}

static void set_script(fake_object *o, fake_object *script)
{
    detach_script(o);
    if (!script)
        return;
    for (size_t i = 0; i < class_count; i++) {
        if (script->script_class && strcmp(classes[i].name, script->script_class) == 0) {
            fake_object_ref(script);
            o->script = script;
            o->userdata = classes[i].create.create_func(o, classes[i].create.method_data);
        }
    }
}

static gd_variant method_call(gd_method_bind *mb, gd_object *inst, const gd_variant **args, int n,
                              gd_call_error *err)
{
    gd_variant ret;
    v_new_nil(&ret);
    err->error = 0;
    fake_object *o = inst;
    if (mb == (gd_method_bind *)&mb_emit && n >= 1 && signal_fn)
        signal_fn(signal_ud, o, fake_variant_cstr(args[0]), args + 1, n - 1);
    else if (mb == (gd_method_bind *)&mb_set_script && n == 1)
        set_script(o, v_as_object(args[0]));
    else if (mb == (gd_method_bind *)&mb_set_class_name && n == 1)
        o->script_class = strdup(fake_variant_cstr(args[0]));
    else if (mb != (gd_method_bind *)&mb_set_library)
        err->error = 1;
    return ret;
}

static gd_object *new_native_script(void)
{
    return object_new("NativeScript");
}
static gd_object *new_data_channel(void)
{
    return object_new("WebRTCDataChannelGDNative");
}
static gd_class_constructor get_constructor(const char *cls)
{
    if (strcmp(cls, "NativeScript") == 0)
        return new_native_script;
    if (strcmp(cls, "WebRTCDataChannelGDNative") == 0)
        return new_data_channel;
    return NULL;
}

static void print_error(const char *d, const char *f, const char *file, int line)
{
    (void)f, (void)file, (void)line;
    fprintf(stderr, "ERROR: %s\n", d);
}
static void print_msg(const gd_string *s)
{
    fprintf(stderr, "%s\n", S(s));
}

/* ---- nativescript and net ------------------------------------------------ */

static void register_class(void *handle, const char *name, const char *base,
                           gd_instance_create_func create, gd_instance_destroy_func destroy)
{
    (void)handle, (void)base;
    fclass *c = &classes[class_count++];
    snprintf(c->name, sizeof c->name, "%s", name);
    c->create = create;
    c->destroy = destroy;
}
static void *get_userdata(gd_object *o)
{
    return ((fake_object *)o)->userdata;
}
static gd_error set_webrtc_library(const gd_webrtc_library *lib)
{
    webrtc_lib = lib;
    return GD_OK;
}
static void bind_pc(gd_object *o, const gd_webrtc_peer_connection *iface)
{
    ((fake_object *)o)->pc = iface;
}
static void bind_dc(gd_object *o, const gd_webrtc_data_channel *iface)
{
    ((fake_object *)o)->dc = iface;
}

static gd_core_api core;
static gd_nativescript_api ns;
static gd_api_header net31;
static gd_net_3_2_api net32;
static const gd_api_header *exts[2];

bool fake_godot_load(const char *path, fake_signal_fn on_signal, void *ud)
{
    signal_fn = on_signal;
    signal_ud = ud;
    core = (gd_core_api){
        .type = GD_API_CORE,
        .version = {1, 0},
        .num_extensions = 2,
        .extensions = exts,
        .array_get = arr_get,
        .array_size = arr_size,
        .array_destroy = arr_destroy,
        .dictionary_destroy = dict_destroy,
        .dictionary_has = dict_has,
        .dictionary_get = dict_get,
        .variant_get_type = v_get_type,
        .variant_new_nil = v_new_nil,
        .variant_new_bool = v_new_bool,
        .variant_new_int = fake_variant_int,
        .variant_new_string = v_new_string,
        .variant_new_object = v_new_object,
        .variant_new_dictionary = v_new_dictionary,
        .variant_as_bool = v_as_bool,
        .variant_as_int = v_as_int,
        .variant_as_real = v_as_real,
        .variant_as_string = v_as_string,
        .variant_as_object = v_as_object,
        .variant_as_dictionary = v_as_dictionary,
        .variant_as_array = v_as_array,
        .variant_destroy = v_destroy,
        .char_string_length = cs_length,
        .char_string_get_data = cs_get_data,
        .char_string_destroy = cs_destroy,
        .string_new = s_new,
        .string_utf8 = s_utf8,
        .string_parse_utf8 = s_parse_utf8,
        .string_parse_utf8_with_len = s_parse_utf8_len,
        .string_destroy = s_destroy,
        .object_destroy = obj_destroy,
        .method_bind_get_method = get_method,
        .method_bind_call = method_call,
        .get_class_constructor = get_constructor,
        .print_error = print_error,
        .print_warning = print_error,
        .print = print_msg,
    };
    ns = (gd_nativescript_api){.header = {GD_EXT_NATIVESCRIPT, {1, 0}, NULL},
                               .register_class = register_class,
                               .get_userdata = get_userdata};
    net32 = (gd_net_3_2_api){.header = {GD_EXT_NET, {3, 2}, NULL},
                             .set_webrtc_library = set_webrtc_library,
                             .bind_webrtc_peer_connection = bind_pc,
                             .bind_webrtc_data_channel = bind_dc};
    net31 = (gd_api_header){GD_EXT_NET, {3, 1}, &net32.header};
    exts[0] = &ns.header;
    exts[1] = &net31;

    lib_handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib_handle) {
        fprintf(stderr, "cannot load %s: %s\n", path, dlerror());
        return false;
    }
    void (*init)(gd_init_options *) =
        (void (*)(gd_init_options *))dlsym(lib_handle, "godot_gdnative_init");
    void (*singleton)(void) = (void (*)(void))dlsym(lib_handle, "godot_gdnative_singleton");
    void (*ns_init)(void *) = (void (*)(void *))dlsym(lib_handle, "godot_nativescript_init");
    entry_terminate =
        (void (*)(gd_terminate_options *))dlsym(lib_handle, "godot_gdnative_terminate");
    if (!init || !singleton || !ns_init || !entry_terminate) {
        fprintf(stderr, "%s lacks the GDNative entry points\n", path);
        return false;
    }
    gdnlib = object_new("GDNativeLibrary");
    gdnlib->unclaimed = false; /* the engine holds it */
    gd_init_options opts = {.api_struct = &core, .gd_native_library = gdnlib};
    init(&opts);
    singleton();
    ns_init(lib_handle);
    return webrtc_lib != NULL && class_count == 2;
}

void fake_godot_unload(void)
{
    gd_terminate_options t = {0};
    if (entry_terminate)
        entry_terminate(&t);
    if (lib_handle)
        dlclose(lib_handle);
    obj_destroy(gdnlib);
}

fake_object *fake_peer_connection_new(void)
{
    fake_object *o = object_new("WebRTCPeerConnectionGDNative");
    o->unclaimed = false; /* the caller's reference */
    if (webrtc_lib->create_peer_connection(o) != GD_OK || !o->pc) {
        fake_object_unref(o);
        return NULL;
    }
    return o;
}

const gd_webrtc_peer_connection *fake_pc_iface(const fake_object *o)
{
    return o->pc;
}

const gd_webrtc_data_channel *fake_dc_iface(const fake_object *o)
{
    return o->dc;
}
