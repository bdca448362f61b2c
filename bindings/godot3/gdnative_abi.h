/*
 * gdnative_abi.h — the slice of Godot 3.2's GDNative C ABI that the peermesh
 * add-on uses, written for this project from the interface (no copied
 * headers).
 *
 * What it mirrors: Godot 3.2.3's GDNative interface as published in
 * godot_headers at tag godot-3.2.3-stable — gdnative/gdnative.h (init
 * options, api struct header, opaque value types), gdnative_api_struct.gen.h
 * (the core 1.0 function table, the nativescript and net extensions),
 * nativescript/godot_nativescript.h (class registration) and
 * net/godot_webrtc.h (the WebRTC library, peer connection and data channel
 * interfaces, API 3.2). Only what we call or implement is declared.
 *
 * Layout facts that matter (x86-64 Linux, System V ABI, what Debian's
 * godot3/godot3-server 3.2.3 are built for):
 *  - Every Godot value type crossing the ABI is an opaque byte array of a
 *    fixed size (uint8_t[N], alignment 1): String, CharString, Array,
 *    Dictionary are one pointer (8 bytes), a Variant is 16 + 8 = 24 bytes.
 *    Returned by value they follow the SysV rules for such structs: 8 bytes
 *    come back in RAX, 24 bytes through a hidden result pointer. We declare
 *    them with the same sizes and alignment so the compiler does the same.
 *  - godot_bool is C's bool (1 byte); godot_int is int (4 bytes); godot_real
 *    is float; godot_error is an int-sized enum.
 *  - The core API struct is a header {unsigned type; {unsigned major, minor}
 *    version; const struct *next; unsigned num_extensions; const struct
 *    **extensions} (40 bytes with padding) followed by 744 function pointers
 *    in the generator's fixed order (API 1.0, frozen since Godot 3.0; newer
 *    functions live in the `next` chain, which we do not need). We name only
 *    the slots we call and keep the others as padding; the static asserts
 *    below pin every named slot to its index.
 *  - Extension structs start with {unsigned type; version; const *next}
 *    (24 bytes). `extensions[i]->type` identifies them (NATIVESCRIPT 1, NET
 *    6). The net extension is version 3.1; its `next` is the 3.2 struct that
 *    holds the three WebRTC functions.
 *  - The WebRTC interface structs begin with {version; void *data} and pass
 *    `data` back as the first argument of every call. The engine does not
 *    check their version (webrtc-native sets 3.1 there and 3.2 in the
 *    library struct; we do the same).
 *  - NativeScript create/destroy callbacks are passed by value as structs of
 *    three pointers {func, method_data, free_func}.
 */
#ifndef PM_GODOT3_GDNATIVE_ABI_H
#define PM_GODOT3_GDNATIVE_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- scalar types -------------------------------------------------------- */

typedef bool gd_bool;
typedef int gd_int;
typedef int gd_error; /* Godot's Error enum (@GlobalScope constants) */
typedef void gd_object;
typedef struct gd_method_bind gd_method_bind; /* opaque */

/* The Error constants we return. */
enum {
    GD_OK = 0,
    GD_FAILED = 1,
    GD_ERR_UNAVAILABLE = 2,
    GD_ERR_UNCONFIGURED = 3,
    GD_ERR_PARAMETER_RANGE_ERROR = 5,
    GD_ERR_OUT_OF_MEMORY = 6,
    GD_ERR_CANT_CREATE = 20,
    GD_ERR_ALREADY_IN_USE = 22,
    GD_ERR_TIMEOUT = 24,
    GD_ERR_CANT_CONNECT = 25,
    GD_ERR_CONNECTION_ERROR = 27,
    GD_ERR_INVALID_DATA = 30,
    GD_ERR_INVALID_PARAMETER = 31,
    GD_ERR_ALREADY_EXISTS = 32,
    GD_ERR_DOES_NOT_EXIST = 33,
    GD_ERR_PARSE_ERROR = 43,
    GD_ERR_BUSY = 44,
};

/* Variant::Type values we read. */
enum {
    GD_TYPE_NIL = 0,
    GD_TYPE_BOOL = 1,
    GD_TYPE_INT = 2,
    GD_TYPE_REAL = 3,
    GD_TYPE_STRING = 4,
    GD_TYPE_OBJECT = 17,
    GD_TYPE_DICTIONARY = 18,
    GD_TYPE_ARRAY = 19,
};

/* ---- opaque value types (sizes as in the gdnative headers) ------------------------ */

typedef struct {
    uint8_t opaque[sizeof(void *)];
} gd_string;
typedef struct {
    uint8_t opaque[sizeof(void *)];
} gd_char_string;
typedef struct {
    uint8_t opaque[sizeof(void *)];
} gd_array;
typedef struct {
    uint8_t opaque[sizeof(void *)];
} gd_dictionary;
typedef struct {
    uint8_t opaque[16 + sizeof(int64_t)];
} gd_variant;

typedef struct {
    int error; /* 0 = OK */
    int argument;
    int expected;
} gd_call_error;

typedef struct {
    unsigned int major;
    unsigned int minor;
} gd_api_version;

/* The header every API struct starts with. */
typedef struct gd_api_header {
    unsigned int type;
    gd_api_version version;
    const struct gd_api_header *next;
} gd_api_header;

enum { GD_API_CORE = 0, GD_EXT_NATIVESCRIPT = 1, GD_EXT_NET = 6 };

typedef gd_object *(*gd_class_constructor)(void);

/* ---- the core API struct (core 1.0) --------------------------------------- */

/*
 * Slot indices in the core function table. GD_CORE_SLOTS is the table's
 * length; a named member at index i sits at byte 40 + 8 * i.
 */
#define GD_SLOT_ARRAY_GET                  333
#define GD_SLOT_ARRAY_SIZE                 356
#define GD_SLOT_ARRAY_DESTROY              361
#define GD_SLOT_DICTIONARY_DESTROY         364
#define GD_SLOT_DICTIONARY_HAS             368
#define GD_SLOT_DICTIONARY_GET             374
#define GD_SLOT_VARIANT_GET_TYPE           507
#define GD_SLOT_VARIANT_NEW_NIL            509
#define GD_SLOT_VARIANT_NEW_BOOL           510
#define GD_SLOT_VARIANT_NEW_INT            512
#define GD_SLOT_VARIANT_NEW_STRING         514
#define GD_SLOT_VARIANT_NEW_OBJECT         527
#define GD_SLOT_VARIANT_NEW_DICTIONARY     528
#define GD_SLOT_VARIANT_AS_BOOL            537
#define GD_SLOT_VARIANT_AS_INT             539
#define GD_SLOT_VARIANT_AS_REAL            540
#define GD_SLOT_VARIANT_AS_STRING          541
#define GD_SLOT_VARIANT_AS_OBJECT          554
#define GD_SLOT_VARIANT_AS_DICTIONARY      555
#define GD_SLOT_VARIANT_AS_ARRAY           556
#define GD_SLOT_VARIANT_DESTROY            570
#define GD_SLOT_CHAR_STRING_LENGTH         571
#define GD_SLOT_CHAR_STRING_GET_DATA       572
#define GD_SLOT_CHAR_STRING_DESTROY        573
#define GD_SLOT_STRING_NEW                 574
#define GD_SLOT_STRING_UTF8                678
#define GD_SLOT_STRING_PARSE_UTF8          679
#define GD_SLOT_STRING_PARSE_UTF8_WITH_LEN 680
#define GD_SLOT_STRING_DESTROY             721
#define GD_SLOT_OBJECT_DESTROY             730
#define GD_SLOT_METHOD_BIND_GET_METHOD     732
#define GD_SLOT_METHOD_BIND_CALL           734
#define GD_SLOT_GET_CLASS_CONSTRUCTOR      735
#define GD_SLOT_PRINT_ERROR                741
#define GD_SLOT_PRINT_WARNING              742
#define GD_SLOT_PRINT                      743
#define GD_CORE_SLOTS                      744

/* Padding between two named slots A (just declared) and B (next). */
#define GD_PAD(a, b) void *pad_##a[(b) - (a)-1]

typedef struct gd_core_api {
    unsigned int type;
    gd_api_version version;
    const gd_api_header *next;
    unsigned int num_extensions;
    const gd_api_header *const *extensions;

    void *pad_start[GD_SLOT_ARRAY_GET];
    gd_variant (*array_get)(const gd_array *self, gd_int idx);
    GD_PAD(GD_SLOT_ARRAY_GET, GD_SLOT_ARRAY_SIZE);
    gd_int (*array_size)(const gd_array *self);
    GD_PAD(GD_SLOT_ARRAY_SIZE, GD_SLOT_ARRAY_DESTROY);
    void (*array_destroy)(gd_array *self);
    GD_PAD(GD_SLOT_ARRAY_DESTROY, GD_SLOT_DICTIONARY_DESTROY);
    void (*dictionary_destroy)(gd_dictionary *self);
    GD_PAD(GD_SLOT_DICTIONARY_DESTROY, GD_SLOT_DICTIONARY_HAS);
    gd_bool (*dictionary_has)(const gd_dictionary *self, const gd_variant *key);
    GD_PAD(GD_SLOT_DICTIONARY_HAS, GD_SLOT_DICTIONARY_GET);
    gd_variant (*dictionary_get)(const gd_dictionary *self, const gd_variant *key);
    GD_PAD(GD_SLOT_DICTIONARY_GET, GD_SLOT_VARIANT_GET_TYPE);
    int (*variant_get_type)(const gd_variant *v);
    void *pad_variant_new_copy;
    void (*variant_new_nil)(gd_variant *dest);
    void (*variant_new_bool)(gd_variant *dest, gd_bool b);
    void *pad_variant_new_uint;
    void (*variant_new_int)(gd_variant *dest, int64_t i);
    void *pad_variant_new_real;
    void (*variant_new_string)(gd_variant *dest, const gd_string *s);
    GD_PAD(GD_SLOT_VARIANT_NEW_STRING, GD_SLOT_VARIANT_NEW_OBJECT);
    void (*variant_new_object)(gd_variant *dest, const gd_object *obj);
    void (*variant_new_dictionary)(gd_variant *dest, const gd_dictionary *dict);
    GD_PAD(GD_SLOT_VARIANT_NEW_DICTIONARY, GD_SLOT_VARIANT_AS_BOOL);
    gd_bool (*variant_as_bool)(const gd_variant *self);
    void *pad_variant_as_uint;
    int64_t (*variant_as_int)(const gd_variant *self);
    double (*variant_as_real)(const gd_variant *self);
    gd_string (*variant_as_string)(const gd_variant *self);
    GD_PAD(GD_SLOT_VARIANT_AS_STRING, GD_SLOT_VARIANT_AS_OBJECT);
    gd_object *(*variant_as_object)(const gd_variant *self);
    gd_dictionary (*variant_as_dictionary)(const gd_variant *self);
    gd_array (*variant_as_array)(const gd_variant *self);
    GD_PAD(GD_SLOT_VARIANT_AS_ARRAY, GD_SLOT_VARIANT_DESTROY);
    void (*variant_destroy)(gd_variant *self);
    gd_int (*char_string_length)(const gd_char_string *cs);
    const char *(*char_string_get_data)(const gd_char_string *cs);
    void (*char_string_destroy)(gd_char_string *cs);
    void (*string_new)(gd_string *dest);
    GD_PAD(GD_SLOT_STRING_NEW, GD_SLOT_STRING_UTF8);
    gd_char_string (*string_utf8)(const gd_string *self);
    gd_bool (*string_parse_utf8)(gd_string *self, const char *utf8);
    gd_bool (*string_parse_utf8_with_len)(gd_string *self, const char *utf8, gd_int len);
    GD_PAD(GD_SLOT_STRING_PARSE_UTF8_WITH_LEN, GD_SLOT_STRING_DESTROY);
    void (*string_destroy)(gd_string *self);
    GD_PAD(GD_SLOT_STRING_DESTROY, GD_SLOT_OBJECT_DESTROY);
    void (*object_destroy)(gd_object *obj);
    void *pad_global_get_singleton;
    gd_method_bind *(*method_bind_get_method)(const char *class_name, const char *method_name);
    void *pad_method_bind_ptrcall;
    gd_variant (*method_bind_call)(gd_method_bind *mb, gd_object *instance, const gd_variant **args,
                                   int arg_count, gd_call_error *error);
    gd_class_constructor (*get_class_constructor)(const char *class_name);
    GD_PAD(GD_SLOT_GET_CLASS_CONSTRUCTOR, GD_SLOT_PRINT_ERROR);
    void (*print_error)(const char *description, const char *function, const char *file, int line);
    void (*print_warning)(const char *description, const char *function, const char *file,
                          int line);
    void (*print)(const gd_string *message);
} gd_core_api;

#define GD_CORE_OFFSET(slot) (40 + sizeof(void *) * (size_t)(slot))
#define GD_ASSERT_SLOT(member, slot)                                                               \
    _Static_assert(offsetof(gd_core_api, member) == GD_CORE_OFFSET(slot),                          \
                   #member " must sit at core slot " #slot)
GD_ASSERT_SLOT(array_get, GD_SLOT_ARRAY_GET);
GD_ASSERT_SLOT(array_size, GD_SLOT_ARRAY_SIZE);
GD_ASSERT_SLOT(array_destroy, GD_SLOT_ARRAY_DESTROY);
GD_ASSERT_SLOT(dictionary_destroy, GD_SLOT_DICTIONARY_DESTROY);
GD_ASSERT_SLOT(dictionary_has, GD_SLOT_DICTIONARY_HAS);
GD_ASSERT_SLOT(dictionary_get, GD_SLOT_DICTIONARY_GET);
GD_ASSERT_SLOT(variant_get_type, GD_SLOT_VARIANT_GET_TYPE);
GD_ASSERT_SLOT(variant_new_nil, GD_SLOT_VARIANT_NEW_NIL);
GD_ASSERT_SLOT(variant_new_bool, GD_SLOT_VARIANT_NEW_BOOL);
GD_ASSERT_SLOT(variant_new_int, GD_SLOT_VARIANT_NEW_INT);
GD_ASSERT_SLOT(variant_new_string, GD_SLOT_VARIANT_NEW_STRING);
GD_ASSERT_SLOT(variant_new_object, GD_SLOT_VARIANT_NEW_OBJECT);
GD_ASSERT_SLOT(variant_new_dictionary, GD_SLOT_VARIANT_NEW_DICTIONARY);
GD_ASSERT_SLOT(variant_as_bool, GD_SLOT_VARIANT_AS_BOOL);
GD_ASSERT_SLOT(variant_as_int, GD_SLOT_VARIANT_AS_INT);
GD_ASSERT_SLOT(variant_as_real, GD_SLOT_VARIANT_AS_REAL);
GD_ASSERT_SLOT(variant_as_string, GD_SLOT_VARIANT_AS_STRING);
GD_ASSERT_SLOT(variant_as_object, GD_SLOT_VARIANT_AS_OBJECT);
GD_ASSERT_SLOT(variant_as_dictionary, GD_SLOT_VARIANT_AS_DICTIONARY);
GD_ASSERT_SLOT(variant_as_array, GD_SLOT_VARIANT_AS_ARRAY);
GD_ASSERT_SLOT(variant_destroy, GD_SLOT_VARIANT_DESTROY);
GD_ASSERT_SLOT(char_string_length, GD_SLOT_CHAR_STRING_LENGTH);
GD_ASSERT_SLOT(char_string_get_data, GD_SLOT_CHAR_STRING_GET_DATA);
GD_ASSERT_SLOT(char_string_destroy, GD_SLOT_CHAR_STRING_DESTROY);
GD_ASSERT_SLOT(string_new, GD_SLOT_STRING_NEW);
GD_ASSERT_SLOT(string_utf8, GD_SLOT_STRING_UTF8);
GD_ASSERT_SLOT(string_parse_utf8, GD_SLOT_STRING_PARSE_UTF8);
GD_ASSERT_SLOT(string_parse_utf8_with_len, GD_SLOT_STRING_PARSE_UTF8_WITH_LEN);
GD_ASSERT_SLOT(string_destroy, GD_SLOT_STRING_DESTROY);
GD_ASSERT_SLOT(object_destroy, GD_SLOT_OBJECT_DESTROY);
GD_ASSERT_SLOT(method_bind_get_method, GD_SLOT_METHOD_BIND_GET_METHOD);
GD_ASSERT_SLOT(method_bind_call, GD_SLOT_METHOD_BIND_CALL);
GD_ASSERT_SLOT(get_class_constructor, GD_SLOT_GET_CLASS_CONSTRUCTOR);
GD_ASSERT_SLOT(print_error, GD_SLOT_PRINT_ERROR);
GD_ASSERT_SLOT(print_warning, GD_SLOT_PRINT_WARNING);
GD_ASSERT_SLOT(print, GD_SLOT_PRINT);
_Static_assert(sizeof(gd_core_api) == GD_CORE_OFFSET(GD_CORE_SLOTS),
               "the core table holds 744 slots");
_Static_assert(sizeof(gd_variant) == 24 && sizeof(gd_string) == 8, "value sizes");

/* ---- gdnative init ---------------------------------------------------------- */

typedef struct {
    gd_bool in_editor;
    uint64_t core_api_hash;
    uint64_t editor_api_hash;
    uint64_t no_api_hash;
    void (*report_version_mismatch)(const gd_object *library, const char *what, gd_api_version want,
                                    gd_api_version have);
    void (*report_loading_error)(const gd_object *library, const char *what);
    gd_object *gd_native_library; /* the GDNativeLibrary being initialised */
    const gd_core_api *api_struct;
    const gd_string *active_library_path;
} gd_init_options;
_Static_assert(offsetof(gd_init_options, api_struct) == 0x38, "init options layout");

typedef struct {
    gd_bool in_editor;
} gd_terminate_options;

/* ---- nativescript extension ----------------------------------------------- */

typedef struct {
    void *(*create_func)(gd_object *owner, void *method_data);
    void *method_data;
    void (*free_func)(void *method_data);
} gd_instance_create_func;

typedef struct {
    void (*destroy_func)(gd_object *owner, void *method_data, void *user_data);
    void *method_data;
    void (*free_func)(void *method_data);
} gd_instance_destroy_func;

typedef struct {
    int rpc_type; /* 0 = disabled */
} gd_method_attributes;

typedef struct {
    gd_variant (*method)(gd_object *owner, void *method_data, void *user_data, int num_args,
                         gd_variant **args);
    void *method_data;
    void (*free_func)(void *method_data);
} gd_instance_method;

typedef struct {
    gd_api_header header;
    void (*register_class)(void *handle, const char *name, const char *base,
                           gd_instance_create_func create, gd_instance_destroy_func destroy);
    void (*register_tool_class)(void *handle, const char *name, const char *base,
                                gd_instance_create_func create, gd_instance_destroy_func destroy);
    void (*register_method)(void *handle, const char *class_name, const char *method_name,
                            gd_method_attributes attr, gd_instance_method method);
    void *register_property;
    void *register_signal;
    void *(*get_userdata)(gd_object *instance);
} gd_nativescript_api;

/* ---- net extension and the WebRTC interfaces (net/godot_webrtc.h, 3.2) ------ */

#define GD_NET_WEBRTC_MAJOR 3
#define GD_NET_WEBRTC_MINOR 2

typedef struct {
    gd_api_version version;
    void (*unregistered)(void);
    gd_error (*create_peer_connection)(gd_object *owner);
    void *next;
} gd_webrtc_library;

typedef struct {
    gd_api_version version;
    void *data; /* handed back as the first argument of every call */
    gd_int (*get_connection_state)(const void *data);
    gd_error (*initialize)(void *data, const gd_dictionary *config);
    gd_object *(*create_data_channel)(void *data, const char *label, const gd_dictionary *options);
    gd_error (*create_offer)(void *data);
    gd_error (*create_answer)(void *data); /* never called by the engine */
    gd_error (*set_remote_description)(void *data, const char *type, const char *sdp);
    gd_error (*set_local_description)(void *data, const char *type, const char *sdp);
    gd_error (*add_ice_candidate)(void *data, const char *mid, int index, const char *candidate);
    gd_error (*poll)(void *data);
    void (*close)(void *data);
    void *next;
} gd_webrtc_peer_connection;

typedef struct {
    gd_api_version version;
    void *data;
    gd_error (*get_packet)(void *data, const uint8_t **buffer, int *len);
    gd_error (*put_packet)(void *data, const uint8_t *buffer, int len);
    gd_int (*get_available_packet_count)(const void *data);
    gd_int (*get_max_packet_size)(const void *data);
    void (*set_write_mode)(void *data, gd_int mode);
    gd_int (*get_write_mode)(const void *data);
    bool (*was_string_packet)(const void *data);
    gd_int (*get_ready_state)(const void *data);
    const char *(*get_label)(const void *data);
    bool (*is_ordered)(const void *data);
    int (*get_id)(const void *data);
    int (*get_max_packet_life_time)(const void *data);
    int (*get_max_retransmits)(const void *data);
    const char *(*get_protocol)(const void *data);
    bool (*is_negotiated)(const void *data);
    gd_error (*poll)(void *data);
    void (*close)(void *data);
    void *next; /* 3.4 adds get_buffered_amount here; 3.2.3 never reads it */
} gd_webrtc_data_channel;

/* The net extension at 3.2 (found through the 3.1 struct's `next`). */
typedef struct {
    gd_api_header header;
    gd_error (*set_webrtc_library)(const gd_webrtc_library *library);
    void (*bind_webrtc_peer_connection)(gd_object *owner, const gd_webrtc_peer_connection *impl);
    void (*bind_webrtc_data_channel)(gd_object *owner, const gd_webrtc_data_channel *impl);
} gd_net_3_2_api;

#endif
