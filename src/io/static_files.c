/* Static files over HTTP (static_files.h). */
#define _GNU_SOURCE
#include "io/static_files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int pm_static_root(const pm_envr *env, const char *dir, char **out)
{
    *out = NULL;
    char *real = dir ? realpath(dir, NULL) : NULL;
    struct stat st;
    if (!real || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
        free(real);
        return PM_ERR_NOT_FOUND;
    }
    *out = pm_strdup(env, real);
    free(real);
    return *out ? PM_OK : PM_ERR_NOMEM;
}

const char *pm_static_media_type(const char *name)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".wasm", "application/wasm"}, /* what WebAssembly.instantiateStreaming requires */
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
    };
    const char *dot = strrchr(name, '.');
    const char *slash = strrchr(name, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < PM_ARRAY_LEN(types); i++)
            if (strcasecmp(dot, types[i][0]) == 0)
                return types[i][1];
    return "application/octet-stream";
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Decode %XX into out (cap bytes); false for a bad escape, a NUL, or no room. */
static bool decode_path(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in; in++) {
        char c = *in;
        if (c == '%') {
            int hi = hex_digit(in[1]), lo = hi < 0 ? -1 : hex_digit(in[2]);
            if (lo < 0)
                return false;
            c = (char)(hi * 16 + lo);
            in += 2;
        }
        if (c == '\0' || n + 1 >= cap)
            return false;
        out[n++] = c;
    }
    out[n] = 0;
    return true;
}

/* Every segment is a plain name: not empty-but-last, not "." or "..", not hidden, no "\". */
static bool plain_segments(const char *path)
{
    if (path[0] != '/' || strchr(path, '\\'))
        return false;
    for (const char *seg = path + 1; *seg;) {
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        if ((len == 0 && end) || (len && seg[0] == '.'))
            return false;
        seg += len + (end ? 1 : 0);
    }
    return true;
}

int pm_static_serve(const pm_envr *env, const char *root, const char *path, pm_buf *body,
                    const char **content_type)
{
    size_t start = body->len;
    char rel[PATH_MAX];
    if (!root || !path || !decode_path(path, rel, sizeof rel - 16) || !plain_segments(rel))
        return 403;
    size_t rl = strlen(rel);
    if (rel[rl - 1] == '/')
        memcpy(rel + rl, "index.html", sizeof "index.html");
    char joined[PATH_MAX * 2];
    if ((size_t)snprintf(joined, sizeof joined, "%s%s", root, rel) >= sizeof joined)
        return 403;
    /* The file as the OS resolves it (links included) must still lie under root. */
    char *real = realpath(joined, NULL);
    if (!real)
        return errno == ENOENT || errno == ENOTDIR ? 404 : 403;
    size_t rootlen = strlen(root);
    bool inside = strncmp(real, root, rootlen) == 0 && real[rootlen] == '/';
    int fd = inside ? open(real, O_RDONLY | O_CLOEXEC) : -1;
    free(real);
    if (!inside)
        return 403;
    if (fd < 0)
        return 404;
    struct stat st;
    int status = 200;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        status = 404;
    else if ((uint64_t)st.st_size > PM_STATIC_MAX_FILE)
        status = 413;
    else if (pm_buf_reserve(env, body, body->len + (size_t)st.st_size + 1) != PM_OK)
        status = 500;
    for (size_t got = 0; status == 200 && got < (size_t)st.st_size;) {
        ssize_t k = read(fd, body->data + body->len, (size_t)st.st_size - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            status = 500; /* the file shrank or cannot be read */
            break;
        }
        got += (size_t)k;
        body->len += (size_t)k;
    }
    close(fd);
    if (status == 200)
        *content_type = pm_static_media_type(rel);
    else
        body->len = start;
    return status;
}
