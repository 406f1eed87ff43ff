/*
 * Linux sparse-file primitives that Node's fs module lacks: SEEK_DATA/SEEK_HOLE extent listing,
 * FICLONE reflinks, fallocate(PUNCH_HOLE) and FIEMAP. Plain N-API (node_api.h only) so the binary
 * is ABI-stable across Node versions and needs no npm dependency.
 *
 * Every call takes file descriptors (the JS side owns open/close) and returns a Promise; the
 * syscalls run on the libuv thread pool because FICLONE and FIEMAP on large files can take a while.
 * Errors reject with an Error carrying `code` (e.g. "EOPNOTSUPP"), `errno` and `syscall`, so the JS
 * side can tell "unsupported here" from real failures.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/fs.h>
#include <linux/fiemap.h>
#include <linux/falloc.h>
#include <node_api.h>

#ifndef FICLONE
#define FICLONE _IOW(0x94, 9, int)
#endif
#ifndef SEEK_DATA
#define SEEK_DATA 3
#define SEEK_HOLE 4
#endif

typedef enum { OP_CLONE, OP_PUNCH, OP_EXTENTS, OP_FIEMAP } op_t;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  op_t op;
  int fd;
  int fd2;
  int64_t a;
  int64_t b;
  int err;
  const char *syscall;
  int64_t *out;
  size_t out_len;
  size_t out_cap;
} job_t;

#define CHECK(env, call)                                                   \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error((env), NULL, "sparse_io: N-API call failed: " #call); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static int push(job_t *j, int64_t v) {
  if (j->out_len == j->out_cap) {
    size_t cap = j->out_cap ? j->out_cap * 2 : 64;
    int64_t *n = realloc(j->out, cap * sizeof(int64_t));
    if (!n) return -1;
    j->out = n;
    j->out_cap = cap;
  }
  j->out[j->out_len++] = v;
  return 0;
}

static void fail(job_t *j, const char *syscall) {
  j->err = errno;
  j->syscall = syscall;
}

static void do_extents(job_t *j) {
  int64_t pos = j->a, end = j->b;
  while (pos < end) {
    off_t data = lseek(j->fd, pos, SEEK_DATA);
    if (data < 0) {
      /* ENXIO: no data at or after pos, i.e. the rest is a hole. */
      if (errno != ENXIO) fail(j, "lseek");
      return;
    }
    if (data >= end) return;
    off_t hole = lseek(j->fd, data, SEEK_HOLE);
    if (hole < 0) {
      fail(j, "lseek");
      return;
    }
    int64_t stop = hole < end ? hole : end;
    if (push(j, data) || push(j, stop - data)) {
      j->err = ENOMEM;
      j->syscall = "realloc";
      return;
    }
    pos = stop;
  }
}

static void do_fiemap(job_t *j) {
  const unsigned count = 256;
  size_t size = sizeof(struct fiemap) + count * sizeof(struct fiemap_extent);
  struct fiemap *fm = malloc(size);
  if (!fm) {
    j->err = ENOMEM;
    j->syscall = "malloc";
    return;
  }
  uint64_t start = 0;
  for (;;) {
    memset(fm, 0, size);
    fm->fm_start = start;
    fm->fm_length = FIEMAP_MAX_OFFSET - start;
    fm->fm_flags = j->a ? FIEMAP_FLAG_SYNC : 0;
    fm->fm_extent_count = count;
    if (ioctl(j->fd, FS_IOC_FIEMAP, fm) < 0) {
      fail(j, "ioctl(FS_IOC_FIEMAP)");
      break;
    }
    if (fm->fm_mapped_extents == 0) break;
    int last = 0;
    for (unsigned i = 0; i < fm->fm_mapped_extents; i++) {
      struct fiemap_extent *e = &fm->fm_extents[i];
      if (push(j, (int64_t)e->fe_logical) || push(j, (int64_t)e->fe_physical) ||
          push(j, (int64_t)e->fe_length) || push(j, (int64_t)e->fe_flags)) {
        j->err = ENOMEM;
        j->syscall = "realloc";
        free(fm);
        return;
      }
      if (e->fe_flags & FIEMAP_EXTENT_LAST) last = 1;
      start = e->fe_logical + e->fe_length;
    }
    if (last) break;
  }
  free(fm);
}

static void execute(napi_env env, void *data) {
  job_t *j = data;
  switch (j->op) {
    case OP_CLONE:
      if (ioctl(j->fd, FICLONE, j->fd2) < 0) fail(j, "ioctl(FICLONE)");
      break;
    case OP_PUNCH:
      if (fallocate(j->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, j->a, j->b) < 0) fail(j, "fallocate");
      break;
    case OP_EXTENTS:
      do_extents(j);
      break;
    case OP_FIEMAP:
      do_fiemap(j);
      break;
  }
}

static const char *errno_code(int e) {
  switch (e) {
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EXDEV: return "EXDEV";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case ENOTTY: return "ENOTTY";
    case ENOSYS: return "ENOSYS";
    case ENOSPC: return "ENOSPC";
    case EIO: return "EIO";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EFBIG: return "EFBIG";
    case EISDIR: return "EISDIR";
    case ETXTBSY: return "ETXTBSY";
    case ENXIO: return "ENXIO";
    case ENOMEM: return "ENOMEM";
    case EROFS: return "EROFS";
    case EDQUOT: return "EDQUOT";
    case EINTR: return "EINTR";
    default: return "EUNKNOWN";
  }
}

static void complete(napi_env env, napi_status status, void *data) {
  job_t *j = data;
  napi_value result = NULL;
  if (status == napi_ok && j->err == 0) {
    if (j->op == OP_EXTENTS || j->op == OP_FIEMAP) {
      if (napi_create_array_with_length(env, j->out_len, &result) == napi_ok) {
        for (size_t i = 0; i < j->out_len; i++) {
          napi_value v;
          napi_create_int64(env, j->out[i], &v);
          napi_set_element(env, result, (uint32_t)i, v);
        }
      }
    } else {
      napi_get_undefined(env, &result);
    }
    napi_resolve_deferred(env, j->deferred, result);
  } else {
    int e = j->err ? j->err : EIO;
    char msg[256];
    snprintf(msg, sizeof msg, "%s, %s", strerror(e), j->syscall ? j->syscall : "async work");
    napi_value code, message, err, errnum, syscall;
    napi_create_string_utf8(env, errno_code(e), NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, code, message, &err);
    napi_create_int32(env, -e, &errnum);
    napi_set_named_property(env, err, "errno", errnum);
    napi_create_string_utf8(env, j->syscall ? j->syscall : "", NAPI_AUTO_LENGTH, &syscall);
    napi_set_named_property(env, err, "syscall", syscall);
    napi_reject_deferred(env, j->deferred, err);
  }
  napi_delete_async_work(env, j->work);
  free(j->out);
  free(j);
}

/* Parses (int fd, [int|number x, number y]) per op and queues the job. */
static napi_value queue(napi_env env, napi_callback_info info, op_t op) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  size_t need = op == OP_CLONE ? 2 : op == OP_FIEMAP ? 2 : 3;
  if (argc < need) {
    napi_throw_type_error(env, NULL, "sparse_io: missing arguments");
    return NULL;
  }
  job_t *j = calloc(1, sizeof(job_t));
  if (!j) {
    napi_throw_error(env, NULL, "sparse_io: out of memory");
    return NULL;
  }
  j->op = op;
  napi_status s = napi_get_value_int32(env, argv[0], &j->fd);
  if (s == napi_ok) {
    if (op == OP_CLONE) {
      s = napi_get_value_int32(env, argv[1], &j->fd2);
    } else if (op == OP_FIEMAP) {
      bool sync = false;
      s = napi_get_value_bool(env, argv[1], &sync);
      j->a = sync;
    } else {
      s = napi_get_value_int64(env, argv[1], &j->a);
      if (s == napi_ok) s = napi_get_value_int64(env, argv[2], &j->b);
    }
  }
  if (s != napi_ok) {
    free(j);
    napi_throw_type_error(env, NULL, "sparse_io: bad argument type");
    return NULL;
  }
  napi_value promise, name;
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "sparse_io", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, j, &j->work) != napi_ok ||
      napi_queue_async_work(env, j->work) != napi_ok) {
    free(j);
    napi_throw_error(env, NULL, "sparse_io: cannot queue work");
    return NULL;
  }
  return promise;
}

/* ficlone(destFd, srcFd): dest shares all of src's blocks. */
static napi_value js_ficlone(napi_env env, napi_callback_info info) { return queue(env, info, OP_CLONE); }
/* punchHole(fd, offset, length): deallocates the range, keeping the file size. */
static napi_value js_punch(napi_env env, napi_callback_info info) { return queue(env, info, OP_PUNCH); }
/* dataExtents(fd, start, end): flat [offset, length, ...] of data ranges within [start, end). */
static napi_value js_extents(napi_env env, napi_callback_info info) { return queue(env, info, OP_EXTENTS); }
/* fiemap(fd, sync): flat [logical, physical, length, flags, ...]. */
static napi_value js_fiemap(napi_env env, napi_callback_info info) { return queue(env, info, OP_FIEMAP); }

/*
 * willNeed(fd, offset, length): synchronous posix_fadvise(POSIX_FADV_WILLNEED), returning 0 or the errno. It
 * only starts readahead of the range (it does not wait for the reads), so a reader that hints a few chunks
 * ahead finds them in the page cache instead of waiting for the disk itself. Synchronous: it is meant for
 * worker threads, and a job on the libuv pool would cost more than the call.
 */
static napi_value js_will_need(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  int64_t offset = 0, length = 0;
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_int64(env, argv[1], &offset) != napi_ok ||
      napi_get_value_int64(env, argv[2], &length) != napi_ok || offset < 0 || length < 0) {
    napi_throw_type_error(env, NULL, "sparse_io: willNeed(fd, offset, length)");
    return NULL;
  }
  int rc = posix_fadvise(fd, (off_t)offset, (off_t)length, POSIX_FADV_WILLNEED);
  napi_value out;
  CHECK(env, napi_create_int32(env, rc, &out));
  return out;
}

static void free_aligned(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

/*
 * alignedBuffer(size, alignment): a Buffer of `size` bytes whose memory starts at a multiple of `alignment` (a
 * power of two, at least the pointer size), for O_DIRECT reads and writes: Node allocates Buffers with no
 * alignment guarantee, and a misaligned buffer makes O_DIRECT fail with EINVAL. The memory is freed with the
 * Buffer. Synchronous.
 */
static napi_value js_aligned_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t size = 0, alignment = 0;
  if (argc < 2 || napi_get_value_int64(env, argv[0], &size) != napi_ok ||
      napi_get_value_int64(env, argv[1], &alignment) != napi_ok || size <= 0 || size > ((int64_t)1 << 32) ||
      alignment < (int64_t)sizeof(void *) || (alignment & (alignment - 1)) != 0 || alignment > (1 << 20)) {
    napi_throw_type_error(env, NULL, "sparse_io: alignedBuffer(size, alignment)");
    return NULL;
  }
  void *data = NULL;
  if (posix_memalign(&data, (size_t)alignment, (size_t)size) != 0) {
    napi_throw_error(env, "ENOMEM", "sparse_io: alignedBuffer: out of memory");
    return NULL;
  }
  napi_value out;
  if (napi_create_external_buffer(env, (size_t)size, data, free_aligned, NULL, &out) != napi_ok) {
    free(data);
    napi_throw_error(env, NULL, "sparse_io: alignedBuffer: napi_create_external_buffer failed");
    return NULL;
  }
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"willNeed", NULL, js_will_need, NULL, NULL, NULL, napi_enumerable, NULL},
    {"alignedBuffer", NULL, js_aligned_buffer, NULL, NULL, NULL, napi_enumerable, NULL},
    {"ficlone", NULL, js_ficlone, NULL, NULL, NULL, napi_enumerable, NULL},
    {"punchHole", NULL, js_punch, NULL, NULL, NULL, napi_enumerable, NULL},
    {"dataExtents", NULL, js_extents, NULL, NULL, NULL, napi_enumerable, NULL},
    {"fiemap", NULL, js_fiemap, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  napi_value version;
  CHECK(env, napi_create_int32(env, 1, &version));
  CHECK(env, napi_set_named_property(env, exports, "abiVersion", version));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
