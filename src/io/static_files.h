/*
 * Static files over HTTP (peermesh-signal --web-root DIR, docs/web.md): the
 * one place that reads files for a client. GET paths map into one folder;
 * nothing outside it is ever read, however the path is spelt (.., %2e%2e,
 * symbolic links out of it).
 */
#ifndef PM_IO_STATIC_FILES_H
#define PM_IO_STATIC_FILES_H

#include "base/base.h"

/** Largest file served (the demo page's files are a few hundred KiB). */
#define PM_STATIC_MAX_FILE (32u << 20)

/**
 * The canonical absolute path of folder `dir`, allocated with env (free with
 * pm_free), in *out. PM_ERR_NOT_FOUND when it does not exist or is no folder.
 */
int pm_static_root(const pm_envr *env, const char *dir, char **out);

/**
 * Answer GET `path` (the URL path, without query; percent-escapes are
 * decoded here) from the folder `root` (from pm_static_root): the file's
 * bytes appended to `body` and its media type in *content_type (static
 * string), status 200. "/" and paths ending in "/" mean index.html there.
 * 403 for a path that would leave the folder or names a hidden file
 * (a segment starting with "."), 404 when there is no such regular file,
 * 413 for a file above PM_STATIC_MAX_FILE, 500 when reading fails.
 */
int pm_static_serve(const pm_envr *env, const char *root, const char *path, pm_buf *body,
                    const char **content_type);

/** The media type for a file name, by its extension (application/octet-stream if unknown). */
const char *pm_static_media_type(const char *name);

#endif
