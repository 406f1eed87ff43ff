/*
 * librbd/librados for the RBD volume driver's hot paths: a cluster connection kept for the backend's lifetime,
 * images opened once per operation, byte-range reads and writes straight into and out of Buffers,
 * rbd_diff_iterate2 extents, snapshot create/list, size, pool statistics and monitor commands. The `rbd` tool
 * costs a process start and a fresh cluster connection (monitor handshake, OSD map) per call, and cannot read a
 * byte range at all.
 *
 * Every call returns a Promise and runs on the libuv thread pool (librbd calls block on the network), so the
 * event loop never waits for Ceph. Errors reject with an Error whose `code` is the errno name (ENOENT, EEXIST,
 * EBUSY, ...) and `errno` the negative value librbd returned.
 *
 * Handles are N-API externals wrapping small structs: the JS side closes images and shuts clusters down
 * explicitly; a handle used after close fails with EBADF instead of touching freed memory (the struct itself is
 * freed by the finalizer when JS drops the handle).
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>
#include <rados/librados.h>
#include <rbd/librbd.h>

/*
 * Children counts (pools of a cluster, images of a pool) are kept on the JS thread only. A pool with images librbd
 * still holds, or a cluster with pools, refuses to go away (EBUSY): rados_ioctx_destroy or rados_shutdown under a
 * live ImageCtx frees what librados' io_context_pool threads are about to run.
 */
typedef struct {
  rados_t cluster;
  int connected;
  int pools;
} cluster_t;

typedef struct {
  rados_ioctx_t io;
  int open;
  int images; /* opened and not yet closed by librbd (a close that timed out keeps counting) */
  cluster_t *cluster;
  napi_ref cluster_ref; /* keeps the cluster handle alive while the pool is */
} pool_t;

typedef struct {
  rbd_image_t image;
  int open;
  pool_t *pool;
  napi_ref pool_ref;
} image_t;

typedef enum {
  OP_CONNECT,
  OP_SHUTDOWN,
  OP_POOL,
  OP_POOL_CLOSE,
  OP_OPEN,
  OP_CLOSE,
  OP_READ,
  OP_WRITE,
  OP_ZERO,
  OP_FLUSH,
  OP_DIFF,
  OP_SNAP_CREATE,
  OP_SNAP_LIST,
  OP_SIZE,
  OP_POOL_STAT,
  OP_MON_COMMAND,
} op_t;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  op_t op;
  cluster_t *cluster;
  pool_t *pool;
  image_t *image;
  napi_ref keep;  /* the handle the job works on, kept alive for it */
  napi_ref keep2; /* the Buffer whose memory the worker thread reads or fills */
  char *s1, *s2, *s3;
  char *data;
  size_t len;
  uint64_t a, b;
  int flag;
  int rc;
  const char *call;
  /* results */
  int64_t *out;
  size_t out_len, out_cap;
  rbd_snap_info_t *snaps;
  int nsnaps;
  char *outbuf, *outs;
  size_t outbuf_len, outs_len;
  struct rados_pool_stat_t pstat;
  struct rados_cluster_stat_t cstat;
  cluster_t *new_cluster;
  pool_t *new_pool;
  image_t *new_image;
} job_t;

#define CHECK(env, call)                                                \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      napi_throw_error((env), NULL, "rbd_io: N-API call failed: " #call); \
      return NULL;                                                      \
    }                                                                   \
  } while (0)

static int push(job_t *j, int64_t v) {
  if (j->out_len == j->out_cap) {
    size_t cap = j->out_cap ? j->out_cap * 2 : 96;
    int64_t *n = realloc(j->out, cap * sizeof(int64_t));
    if (!n) return -1;
    j->out = n;
    j->out_cap = cap;
  }
  j->out[j->out_len++] = v;
  return 0;
}

static int diff_cb(uint64_t offset, size_t len, int exists, void *arg) {
  job_t *j = arg;
  if (push(j, (int64_t)offset) || push(j, (int64_t)len) || push(j, exists ? 1 : 0)) return -ENOMEM;
  return 0;
}

/*
 * Bounded open and close. librbd's synchronous rbd_open/rbd_close wait on a condition variable with no deadline; in
 * one CI run a read-only open at a snapshot never returned and pinned a libuv pool thread (and the suite) for good.
 * Here the asynchronous calls are used and the pool thread waits at most `timeout_ms`; past that the call is
 * reported as ETIMEDOUT and abandoned: the waiter is shared with librbd's completion callback (two references),
 * and whichever side lets go last frees it. An open that completes after it was abandoned is closed on a thread of
 * its own (never in librbd's callback, which runs on librbd's own threads and must not block on librbd).
 */
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done, abandoned, refs, is_open;
  int rc;
  rbd_image_t image; /* filled by librbd when an open completes: must outlive the worker's wait */
} waiter_t;

static waiter_t *waiter_new(int is_open) {
  waiter_t *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  pthread_mutex_init(&w->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w->cv, &ca);
  pthread_condattr_destroy(&ca);
  w->refs = 2;
  w->is_open = is_open;
  return w;
}

static void waiter_put(waiter_t *w) {
  pthread_mutex_lock(&w->mu);
  int last = --w->refs == 0;
  pthread_mutex_unlock(&w->mu);
  if (last) {
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
  }
}

/*
 * How long after librbd reported an open before that image may be closed. librbd's ImageState completes the open
 * (queues the caller's callback) and only then takes its own mutex again (complete_action_unlock); a read-only
 * image closes in a few work-queue hops, so a close issued right away can free the ImageState before that thread
 * relocks it: a lock on freed memory in io_context_pool (the hang), or SIGSEGV. Caught under ASan with freed memory
 * filled (std::system_error EINVAL from that lock, ImageCtx freed by the close's finisher). The JS side
 * (librbd.ts, CLOSE_GRACE_MS) keeps the same distance for the closes it issues.
 */
#define LATE_CLOSE_GRACE_MS 2000

static void *close_late(void *arg) {
  struct timespec t = {LATE_CLOSE_GRACE_MS / 1000, (LATE_CLOSE_GRACE_MS % 1000) * 1000000L};
  while (nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
  rbd_close((rbd_image_t)arg);
  return NULL;
}

static void waiter_cb(rbd_completion_t c, void *arg) {
  waiter_t *w = arg;
  int rc = (int)rbd_aio_get_return_value(c);
  rbd_aio_release(c);
  pthread_mutex_lock(&w->mu);
  w->rc = rc;
  w->done = 1;
  int late = w->abandoned;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  if (late && w->is_open && rc >= 0) {
    /* Nobody will use this image: close it so its watch and memory do not outlive the call. */
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &a, close_late, w->image) != 0) fprintf(stderr, "rbd_io: cannot close an image opened after its call timed out\n");
    pthread_attr_destroy(&a);
  }
  waiter_put(w);
}

/* Waits for w until timeout_ms (0: no deadline); -ETIMEDOUT abandons the call. */
static int waiter_wait(waiter_t *w, uint64_t timeout_ms) {
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += (time_t)(timeout_ms / 1000);
  until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&w->mu);
  while (!w->done) {
    if (timeout_ms == 0) pthread_cond_wait(&w->cv, &w->mu);
    else if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT && !w->done) break;
  }
  int rc = w->done ? w->rc : -ETIMEDOUT;
  if (!w->done) w->abandoned = 1;
  pthread_mutex_unlock(&w->mu);
  return rc;
}

/* rbd_aio_open(_read_only) with a deadline; on success *out is the image. */
static int bounded_open(rados_ioctx_t io, const char *name, const char *snap, int ro, uint64_t timeout_ms, rbd_image_t *out) {
  waiter_t *w = waiter_new(1);
  if (!w) return -ENOMEM;
  rbd_completion_t c;
  int rc = rbd_aio_create_completion(w, waiter_cb, &c);
  if (rc < 0) {
    w->refs = 1;
    waiter_put(w);
    return rc;
  }
  rc = ro ? rbd_aio_open_read_only(io, name, &w->image, snap, c) : rbd_aio_open(io, name, &w->image, snap, c);
  if (rc < 0) {
    /* Not started: the callback will never run. */
    rbd_aio_release(c);
    w->refs = 1;
    waiter_put(w);
    return rc;
  }
  rc = waiter_wait(w, timeout_ms);
  if (rc >= 0) *out = w->image;
  waiter_put(w);
  return rc;
}

/* rbd_aio_close with a deadline; a close that times out finishes (or not) on librbd's side. */
static int bounded_close(rbd_image_t image, uint64_t timeout_ms) {
  waiter_t *w = waiter_new(0);
  if (!w) return -ENOMEM;
  rbd_completion_t c;
  int rc = rbd_aio_create_completion(w, waiter_cb, &c);
  if (rc < 0) {
    w->refs = 1;
    waiter_put(w);
    return rc;
  }
  rc = rbd_aio_close(image, c);
  if (rc < 0) {
    rbd_aio_release(c);
    w->refs = 1;
    waiter_put(w);
    return rc;
  }
  rc = waiter_wait(w, timeout_ms);
  waiter_put(w);
  return rc;
}

static int no_progress(uint64_t done, uint64_t total, void *arg) {
  (void)done;
  (void)total;
  (void)arg;
  return 0;
}

static void do_connect(job_t *j) {
  cluster_t *c = calloc(1, sizeof *c);
  if (!c) {
    j->rc = -ENOMEM;
    j->call = "calloc";
    return;
  }
  int rc = rados_create(&c->cluster, j->s2 && *j->s2 ? j->s2 : NULL);
  if (rc < 0) {
    free(c);
    j->rc = rc;
    j->call = "rados_create";
    return;
  }
  j->call = "rados_conf_read_file";
  rc = rados_conf_read_file(c->cluster, j->s1 && *j->s1 ? j->s1 : NULL);
  /* The server is one long-lived client among many: no admin socket to collide on, and bounded waits. */
  if (rc >= 0) rc = rados_conf_set(c->cluster, "admin_socket", "");
  if (rc >= 0 && j->s3 && *j->s3) rc = rados_conf_set(c->cluster, "keyring", j->s3);
  if (rc >= 0) rc = rados_conf_set(c->cluster, "client_mount_timeout", "15");
  if (rc >= 0) rc = rados_conf_set(c->cluster, "rados_mon_op_timeout", "60");
  if (rc >= 0) rc = rados_conf_set(c->cluster, "rados_osd_op_timeout", "120");
  if (rc >= 0) {
    j->call = "rados_connect";
    rc = rados_connect(c->cluster);
  }
  if (rc < 0) {
    rados_shutdown(c->cluster);
    free(c);
    j->rc = rc;
    return;
  }
  c->connected = 1;
  j->new_cluster = c;
}

static void execute(napi_env env, void *data) {
  (void)env;
  job_t *j = data;
  int rc = 0;
  switch (j->op) {
    case OP_CONNECT:
      do_connect(j);
      return;
    case OP_SHUTDOWN:
      rados_shutdown(j->cluster->cluster);
      return;
    case OP_POOL: {
      pool_t *p = calloc(1, sizeof *p);
      if (!p) {
        rc = -ENOMEM;
        break;
      }
      j->call = "rados_ioctx_create";
      rc = rados_ioctx_create(j->cluster->cluster, j->s1, &p->io);
      if (rc < 0) free(p);
      else {
        p->open = 1;
        j->new_pool = p;
      }
      break;
    }
    case OP_POOL_CLOSE:
      rados_ioctx_destroy(j->pool->io);
      return;
    case OP_OPEN: {
      image_t *im = calloc(1, sizeof *im);
      if (!im) {
        rc = -ENOMEM;
        break;
      }
      const char *snap = j->s2 && *j->s2 ? j->s2 : NULL;
      j->call = j->flag ? "rbd_aio_open_read_only" : "rbd_aio_open";
      rc = bounded_open(j->pool->io, j->s1, snap, j->flag, j->b, &im->image);
      if (rc < 0) free(im);
      else {
        im->open = 1;
        j->new_image = im;
      }
      break;
    }
    case OP_CLOSE:
      j->call = "rbd_aio_close";
      rc = bounded_close(j->image->image, j->b);
      break;
    case OP_READ: {
      j->call = "rbd_read2";
      size_t done = 0;
      while (done < j->len) {
        ssize_t n = rbd_read2(j->image->image, j->a + done, j->len - done, j->data + done, LIBRADOS_OP_FLAG_FADVISE_SEQUENTIAL);
        if (n < 0) {
          rc = (int)n;
          break;
        }
        if (n == 0) break; /* past the end of the image */
        done += (size_t)n;
      }
      j->a = done;
      break;
    }
    case OP_WRITE: {
      j->call = "rbd_write2";
      size_t done = 0;
      while (done < j->len) {
        ssize_t n = rbd_write2(j->image->image, j->a + done, j->len - done, j->data + done, 0);
        if (n < 0) {
          rc = (int)n;
          break;
        }
        if (n == 0) {
          rc = -EIO;
          break;
        }
        done += (size_t)n;
      }
      break;
    }
    case OP_ZERO: {
      j->call = "rbd_write_zeroes";
      /* One call is capped at INT_MAX bytes (it returns the count as an int). */
      const uint64_t step = 1024ULL * 1024 * 1024;
      for (uint64_t off = j->a; off < j->a + j->b && rc >= 0; off += step) {
        uint64_t n = j->a + j->b - off < step ? j->a + j->b - off : step;
        ssize_t r = rbd_write_zeroes(j->image->image, off, n, 0, 0);
        if (r < 0) rc = (int)r;
      }
      break;
    }
    case OP_FLUSH:
      j->call = "rbd_flush";
      rc = rbd_flush(j->image->image);
      break;
    case OP_DIFF:
      j->call = "rbd_diff_iterate2";
      rc = rbd_diff_iterate2(j->image->image, j->s1 && *j->s1 ? j->s1 : NULL, j->a, j->b, 1, (uint8_t)j->flag, diff_cb, j);
      break;
    case OP_SNAP_CREATE:
      j->call = "rbd_snap_create2";
      rc = rbd_snap_create2(j->image->image, j->s1, (uint32_t)j->b, no_progress, NULL);
      break;
    case OP_SNAP_LIST: {
      j->call = "rbd_snap_list";
      int max = 16;
      for (;;) {
        j->snaps = calloc((size_t)max, sizeof(rbd_snap_info_t));
        if (!j->snaps) {
          rc = -ENOMEM;
          break;
        }
        rc = rbd_snap_list(j->image->image, j->snaps, &max);
        if (rc != -ERANGE) break;
        free(j->snaps);
        j->snaps = NULL;
      }
      if (rc >= 0) j->nsnaps = rc;
      break;
    }
    case OP_SIZE:
      j->call = "rbd_get_size";
      rc = rbd_get_size(j->image->image, &j->a);
      break;
    case OP_POOL_STAT:
      j->call = "rados_ioctx_pool_stat";
      rc = rados_ioctx_pool_stat(j->pool->io, &j->pstat);
      if (rc >= 0) {
        j->call = "rados_cluster_stat";
        rc = rados_cluster_stat(j->cluster->cluster, &j->cstat);
      }
      break;
    case OP_MON_COMMAND: {
      j->call = "rados_mon_command";
      const char *cmd[1] = {j->s1};
      rc = rados_mon_command(j->cluster->cluster, cmd, 1, "", 0, &j->outbuf, &j->outbuf_len, &j->outs, &j->outs_len);
      /* The command's own status goes back to JS with its message, not as a rejection. */
      j->a = (uint64_t)(int64_t)rc;
      rc = 0;
      break;
    }
  }
  j->rc = rc;
}

static const char *errno_code(int e) {
  switch (e) {
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case EBUSY: return "EBUSY";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EROFS: return "EROFS";
    case ENOMEM: return "ENOMEM";
    case EBADF: return "EBADF";
    case ERANGE: return "ERANGE";
    case EDQUOT: return "EDQUOT";
    case ENOTCONN: return "ENOTCONN";
    case ESHUTDOWN: return "ESHUTDOWN";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENOSYS: return "ENOSYS";
    case EIO: return "EIO";
    default: return "EIO";
  }
}

static napi_value make_error(napi_env env, int rc, const char *call) {
  int e = rc < 0 ? -rc : EIO;
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s (%d)", call ? call : "rbd_io", strerror(e), e);
  napi_value code, message, err, errnum, syscall;
  napi_create_string_utf8(env, errno_code(e), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &err);
  napi_create_int32(env, -e, &errnum);
  napi_set_named_property(env, err, "errno", errnum);
  napi_create_string_utf8(env, call ? call : "", NAPI_AUTO_LENGTH, &syscall);
  napi_set_named_property(env, err, "syscall", syscall);
  return err;
}

static void finalize_cluster(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  cluster_t *c = data;
  /* Dropped without shutdown(): the connection's threads go with the process, the struct goes now. */
  free(c);
}

static void finalize_pool(napi_env env, void *data, void *hint) {
  (void)hint;
  pool_t *p = data;
  if (p->cluster_ref) napi_delete_reference(env, p->cluster_ref);
  free(p);
}

static void finalize_image(napi_env env, void *data, void *hint) {
  (void)hint;
  image_t *im = data;
  if (im->pool_ref) napi_delete_reference(env, im->pool_ref);
  free(im);
}

static napi_value num(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

static void complete(napi_env env, napi_status status, void *data) {
  job_t *j = data;
  napi_value result = NULL;
  int ran = status == napi_ok;
  /* Children counts: see cluster_t. */
  if (ran && j->op == OP_POOL && j->rc >= 0) {
    j->new_pool->cluster = j->cluster;
    j->cluster->pools++;
  }
  if (ran && j->op == OP_POOL_CLOSE && j->pool->cluster) j->pool->cluster->pools--;
  if (ran && j->op == OP_OPEN && j->rc >= 0) {
    j->new_image->pool = j->pool;
    j->pool->images++;
  }
  /* Only a close librbd finished lets go of the image: one that timed out may still be running. */
  if (ran && j->op == OP_CLOSE && j->rc >= 0 && j->image->pool) j->image->pool->images--;
  if (status != napi_ok || j->rc < 0) {
    napi_reject_deferred(env, j->deferred, make_error(env, status != napi_ok ? -EIO : j->rc, j->call));
  } else {
    switch (j->op) {
      case OP_CONNECT:
        j->new_cluster->connected = 1;
        napi_create_external(env, j->new_cluster, finalize_cluster, NULL, &result);
        break;
      case OP_POOL: {
        napi_create_external(env, j->new_pool, finalize_pool, NULL, &result);
        /* j->keep is the cluster handle: the pool now owns that reference. */
        j->new_pool->cluster_ref = j->keep;
        j->keep = NULL;
        break;
      }
      case OP_OPEN:
        napi_create_external(env, j->new_image, finalize_image, NULL, &result);
        j->new_image->pool_ref = j->keep;
        j->keep = NULL;
        break;
      case OP_READ:
      case OP_SIZE:
        result = num(env, (double)j->a);
        break;
      case OP_DIFF: {
        napi_value ab;
        void *p = NULL;
        if (napi_create_arraybuffer(env, j->out_len * sizeof(double), &p, &ab) == napi_ok) {
          double *d = p;
          for (size_t i = 0; i < j->out_len; i++) d[i] = (double)j->out[i];
          napi_create_typedarray(env, napi_float64_array, j->out_len, ab, 0, &result);
        }
        break;
      }
      case OP_SNAP_LIST:
        napi_create_array_with_length(env, (size_t)j->nsnaps, &result);
        for (int i = 0; i < j->nsnaps; i++) {
          napi_value o, name;
          napi_create_object(env, &o);
          napi_create_string_utf8(env, j->snaps[i].name, NAPI_AUTO_LENGTH, &name);
          napi_set_named_property(env, o, "name", name);
          napi_set_named_property(env, o, "id", num(env, (double)j->snaps[i].id));
          napi_set_named_property(env, o, "size", num(env, (double)j->snaps[i].size));
          napi_set_element(env, result, (uint32_t)i, o);
        }
        break;
      case OP_POOL_STAT:
        napi_create_object(env, &result);
        napi_set_named_property(env, result, "poolBytes", num(env, (double)j->pstat.num_bytes));
        napi_set_named_property(env, result, "poolObjects", num(env, (double)j->pstat.num_objects));
        napi_set_named_property(env, result, "clusterKb", num(env, (double)j->cstat.kb));
        napi_set_named_property(env, result, "clusterKbUsed", num(env, (double)j->cstat.kb_used));
        napi_set_named_property(env, result, "clusterKbAvail", num(env, (double)j->cstat.kb_avail));
        break;
      case OP_MON_COMMAND: {
        napi_value out, status_msg;
        napi_create_object(env, &result);
        napi_set_named_property(env, result, "rc", num(env, (double)(int64_t)j->a));
        napi_create_string_utf8(env, j->outbuf ? j->outbuf : "", j->outbuf ? j->outbuf_len : 0, &out);
        napi_set_named_property(env, result, "out", out);
        napi_create_string_utf8(env, j->outs ? j->outs : "", j->outs ? j->outs_len : 0, &status_msg);
        napi_set_named_property(env, result, "status", status_msg);
        break;
      }
      default:
        napi_get_undefined(env, &result);
    }
    if (!result) napi_get_undefined(env, &result);
    napi_resolve_deferred(env, j->deferred, result);
  }
  if (j->op == OP_CONNECT && j->rc >= 0 && status != napi_ok) {
    rados_shutdown(j->new_cluster->cluster);
    free(j->new_cluster);
  }
  if (j->keep) napi_delete_reference(env, j->keep);
  if (j->keep2) napi_delete_reference(env, j->keep2);
  napi_delete_async_work(env, j->work);
  if (j->snaps) {
    if (j->nsnaps > 0) rbd_snap_list_end(j->snaps);
    free(j->snaps);
  }
  if (j->outbuf) rados_buffer_free(j->outbuf);
  if (j->outs) rados_buffer_free(j->outs);
  free(j->out);
  free(j->s1);
  free(j->s2);
  free(j->s3);
  free(j);
}

/* ---- argument helpers ---- */

static int get_string(napi_env env, napi_value v, char **out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return -1;
  if (t == napi_null || t == napi_undefined) {
    *out = NULL;
    return 0;
  }
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) return -1;
  *out = malloc(n + 1);
  if (!*out) return -1;
  if (napi_get_value_string_utf8(env, v, *out, n + 1, &n) != napi_ok) return -1;
  if (strlen(*out) != n) return -1; /* an embedded NUL would name something else */
  return 0;
}

static int get_u64(napi_env env, napi_value v, uint64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d > 9007199254740991.0 || d != (double)(uint64_t)d) return -1;
  *out = (uint64_t)d;
  return 0;
}

static int get_external(napi_env env, napi_value v, void **out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return -1;
  return napi_get_value_external(env, v, out) == napi_ok ? 0 : -1;
}

static napi_value queue(napi_env env, job_t *j) {
  napi_value promise, name;
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "rbd_io", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, j, &j->work) != napi_ok ||
      napi_queue_async_work(env, j->work) != napi_ok) {
    napi_throw_error(env, NULL, "rbd_io: cannot queue work");
    return NULL;
  }
  return promise;
}

static napi_value bad(napi_env env, job_t *j, const char *usage) {
  if (j) {
    if (j->keep) napi_delete_reference(env, j->keep);
    if (j->keep2) napi_delete_reference(env, j->keep2);
    free(j->s1);
    free(j->s2);
    free(j->s3);
    free(j);
  }
  napi_throw_type_error(env, NULL, usage);
  return NULL;
}

/* A promise already rejected with rc; the job is dropped. */
static napi_value rejected(napi_env env, job_t *j, int rc, const char *call) {
  napi_deferred d;
  napi_value promise;
  CHECK(env, napi_create_promise(env, &d, &promise));
  napi_reject_deferred(env, d, make_error(env, rc, call));
  if (j->keep) napi_delete_reference(env, j->keep);
  if (j->keep2) napi_delete_reference(env, j->keep2);
  free(j->s1);
  free(j->s2);
  free(j->s3);
  free(j);
  return promise;
}

/* EBADF: the handle was closed. */
static napi_value closed(napi_env env, job_t *j, const char *call) {
  return rejected(env, j, -EBADF, call);
}

static job_t *new_job(op_t op) {
  job_t *j = calloc(1, sizeof(job_t));
  if (j) j->op = op;
  return j;
}

#define ARGS(n)                                                  \
  size_t argc = (n);                                             \
  napi_value argv[(n) > 0 ? (n) : 1];                            \
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL))

/* connect(conf: string|null, id: string|null, keyring: string|null) → Cluster */
static napi_value js_connect(napi_env env, napi_callback_info info) {
  ARGS(3);
  job_t *j = new_job(OP_CONNECT);
  if (!j) return bad(env, NULL, "rbd_io: out of memory");
  if (argc < 3 || get_string(env, argv[0], &j->s1) || get_string(env, argv[1], &j->s2) || get_string(env, argv[2], &j->s3))
    return bad(env, j, "rbd_io: connect(conf, id, keyring)");
  return queue(env, j);
}

/* shutdown(cluster): closes the connection; EBUSY while a pool of it is open. */
static napi_value js_shutdown(napi_env env, napi_callback_info info) {
  ARGS(1);
  job_t *j = new_job(OP_SHUTDOWN);
  if (!j) return bad(env, NULL, "rbd_io: out of memory");
  if (argc < 1 || get_external(env, argv[0], (void **)&j->cluster)) return bad(env, j, "rbd_io: shutdown(cluster)");
  if (!j->cluster->connected) return closed(env, j, "rados_shutdown");
  if (j->cluster->pools > 0) return rejected(env, j, -EBUSY, "rados_shutdown");
  j->cluster->connected = 0;
  CHECK(env, napi_create_reference(env, argv[0], 1, &j->keep));
  return queue(env, j);
}

/* openPool(cluster, name) → Pool */
static napi_value js_open_pool(napi_env env, napi_callback_info info) {
  ARGS(2);
  job_t *j = new_job(OP_POOL);
  if (!j) return bad(env, NULL, "rbd_io: out of memory");
  if (argc < 2 || get_external(env, argv[0], (void **)&j->cluster) || get_string(env, argv[1], &j->s1) || !j->s1)
    return bad(env, j, "rbd_io: openPool(cluster, name)");
  if (!j->cluster->connected) return closed(env, j, "rados_ioctx_create");
  CHECK(env, napi_create_reference(env, argv[0], 1, &j->keep));
  return queue(env, j);
}

/* closePool(pool): EBUSY while librbd holds an image of it (opened, and not closed or its close timed out) */
static napi_value js_close_pool(napi_env env, napi_callback_info info) {
  ARGS(1);
  job_t *j = new_job(OP_POOL_CLOSE);
  if (!j) return bad(env, NULL, "rbd_io: out of memory");
  if (argc < 1 || get_external(env, argv[0], (void **)&j->pool)) return bad(env, j, "rbd_io: closePool(pool)");
  if (!j->pool->open) return closed(env, j, "rados_ioctx_destroy");
  if (j->pool->images > 0) return rejected(env, j, -EBUSY, "rados_ioctx_destroy");
  j->pool->open = 0;
  CHECK(env, napi_create_reference(env, argv[0], 1, &j->keep));
  return queue(env, j);
}

/* poolStat(cluster, pool) → { poolBytes, poolObjects, clusterKb, clusterKbUsed, clusterKbAvail } */
static napi_value js_pool_stat(napi_env env, napi_callback_info info) {
  ARGS(2);
  job_t *j = new_job(OP_POOL_STAT);
  if (!j) return bad(env, NULL, "rbd_io: out of memory");
  if (argc < 2 || get_external(env, argv[0], (void **)&j->cluster) || get_external(env, argv[1], (void **)&j->pool))
    return bad(env, j, "rbd_io: poolStat(cluster, pool)");
  if (!j->cluster->connected || !j->pool->open) return closed(env, j, "rados_ioctx_pool_stat");
  CHECK(env, napi_create_reference(env, argv[1], 1, &j->keep));
  return queue(env, j);
}

/* monCommand(cluster, json) → { rc, out, status } */
static napi_value js_mon_command(napi_env env, napi_callback_info info) {
  ARGS(2);
  job_t *j = new_job(OP_MON_COMMAND);
  if (!j) return bad(env, NULL, "rbd_io: out of memory");
  if (argc < 2 || get_external(env, argv[0], (void **)&j->cluster) || get_string(env, argv[1], &j->s1) || !j->s1)
    return bad(env, j, "rbd_io: monCommand(cluster, json)");
  if (!j->cluster->connected) return closed(env, j, "rados_mon_command");
  CHECK(env, napi_create_reference(env, argv[0], 1, &j->keep));
  return queue(env, j);
}

/* An optional number (a deadline in ms, flags): absent, undefined or null is 0. */
static int get_optional_u64(napi_env env, size_t argc, napi_value *argv, size_t i, uint64_t *out) {
  *out = 0;
  if (argc <= i) return 0;
  napi_valuetype t;
  if (napi_typeof(env, argv[i], &t) != napi_ok) return -1;
  if (t == napi_undefined || t == napi_null) return 0;
  return get_u64(env, argv[i], out);
}

/* open(pool, image, snap: string|null, readOnly: boolean, timeoutMs?: number) → Image; ETIMEDOUT past the deadline */
static napi_value js_open(napi_env env, napi_callback_info info) {
  ARGS(5);
  job_t *j = new_job(OP_OPEN);
  if (!j) return bad(env, NULL, "rbd_io: out of memory");
  bool ro = false;
  if (argc < 4 || get_external(env, argv[0], (void **)&j->pool) || get_string(env, argv[1], &j->s1) || !j->s1 ||
      get_string(env, argv[2], &j->s2) || napi_get_value_bool(env, argv[3], &ro) != napi_ok || get_optional_u64(env, argc, argv, 4, &j->b))
    return bad(env, j, "rbd_io: open(pool, image, snap, readOnly, timeoutMs?)");
  j->flag = ro;
  if (!j->pool->open) return closed(env, j, "rbd_open");
  CHECK(env, napi_create_reference(env, argv[0], 1, &j->keep));
  return queue(env, j);
}

/* Parses (image, ...) for the image calls; marks the image closed for OP_CLOSE. */
static job_t *image_job(napi_env env, napi_value v, op_t op) {
  job_t *j = new_job(op);
  if (!j) return NULL;
  if (get_external(env, v, (void **)&j->image)) {
    free(j);
    return NULL;
  }
  if (napi_create_reference(env, v, 1, &j->keep) != napi_ok) {
    free(j);
    return NULL;
  }
  return j;
}

/* close(image, timeoutMs?: number): ETIMEDOUT past the deadline, the handle closed for JS either way */
static napi_value js_close(napi_env env, napi_callback_info info) {
  ARGS(2);
  job_t *j = argc >= 1 ? image_job(env, argv[0], OP_CLOSE) : NULL;
  if (!j || get_optional_u64(env, argc, argv, 1, &j->b)) return bad(env, j, "rbd_io: close(image, timeoutMs?)");
  if (!j->image->open) return closed(env, j, "rbd_close");
  j->image->open = 0;
  return queue(env, j);
}

/* A call whose one argument is an open image. */
static napi_value image_call(napi_env env, napi_callback_info info, op_t op, const char *usage, const char *rbd_call) {
  ARGS(1);
  job_t *j = argc >= 1 ? image_job(env, argv[0], op) : NULL;
  if (!j) return bad(env, NULL, usage);
  if (!j->image->open) return closed(env, j, rbd_call);
  return queue(env, j);
}

/* size(image) → number */
static napi_value js_size(napi_env env, napi_callback_info info) {
  return image_call(env, info, OP_SIZE, "rbd_io: size(image)", "rbd_get_size");
}

/* flush(image) */
static napi_value js_flush(napi_env env, napi_callback_info info) {
  return image_call(env, info, OP_FLUSH, "rbd_io: flush(image)", "rbd_flush");
}

/* snapList(image) → [{ name, id, size }] */
static napi_value js_snap_list(napi_env env, napi_callback_info info) {
  return image_call(env, info, OP_SNAP_LIST, "rbd_io: snapList(image)", "rbd_snap_list");
}

/* snapCreate(image, name, flags?: RBD_SNAP_CREATE_* bits) */
static napi_value js_snap_create(napi_env env, napi_callback_info info) {
  ARGS(3);
  job_t *j = argc >= 2 ? image_job(env, argv[0], OP_SNAP_CREATE) : NULL;
  if (!j || get_string(env, argv[1], &j->s1) || !j->s1 || get_optional_u64(env, argc, argv, 2, &j->b) ||
      (j->b & ~(uint64_t)(RBD_SNAP_CREATE_SKIP_QUIESCE | RBD_SNAP_CREATE_IGNORE_QUIESCE_ERROR)) != 0)
    return bad(env, j, "rbd_io: snapCreate(image, name, flags?)");
  if (!j->image->open) return closed(env, j, "rbd_snap_create");
  return queue(env, j);
}

/* Buffer argument: its memory is used in place by the worker thread, so the job holds a reference to it. */
static int buffer_arg(napi_env env, job_t *j, napi_value v) {
  bool is = false;
  if (napi_is_buffer(env, v, &is) != napi_ok || !is) return -1;
  void *p = NULL;
  if (napi_get_buffer_info(env, v, &p, &j->len) != napi_ok) return -1;
  j->data = p;
  return napi_create_reference(env, v, 1, &j->keep2) == napi_ok ? 0 : -1;
}

/* read(image, offset, buffer) → bytes read; librbd refuses (EINVAL) a range past the end of the image */
static napi_value js_read(napi_env env, napi_callback_info info) {
  ARGS(3);
  job_t *j = argc >= 3 ? image_job(env, argv[0], OP_READ) : NULL;
  if (!j || get_u64(env, argv[1], &j->a) || buffer_arg(env, j, argv[2])) return bad(env, j, "rbd_io: read(image, offset, buffer)");
  if (!j->image->open) return closed(env, j, "rbd_read2");
  return queue(env, j);
}

/* write(image, offset, buffer) */
static napi_value js_write(napi_env env, napi_callback_info info) {
  ARGS(3);
  job_t *j = argc >= 3 ? image_job(env, argv[0], OP_WRITE) : NULL;
  if (!j || get_u64(env, argv[1], &j->a) || buffer_arg(env, j, argv[2])) return bad(env, j, "rbd_io: write(image, offset, buffer)");
  if (!j->image->open) return closed(env, j, "rbd_write2");
  return queue(env, j);
}

/* writeZeroes(image, offset, length): zeros, deallocating whole objects where it can */
static napi_value js_write_zeroes(napi_env env, napi_callback_info info) {
  ARGS(3);
  job_t *j = argc >= 3 ? image_job(env, argv[0], OP_ZERO) : NULL;
  if (!j || get_u64(env, argv[1], &j->a) || get_u64(env, argv[2], &j->b)) return bad(env, j, "rbd_io: writeZeroes(image, offset, length)");
  if (!j->image->open) return closed(env, j, "rbd_write_zeroes");
  return queue(env, j);
}

/*
 * diff(image, fromSnap: string|null, offset, length, wholeObject: boolean) → Float64Array [offset, length,
 * exists, ...]: ranges changed since fromSnap (or holding data, parent included, when null) up to the image's
 * (or its open snapshot's) state.
 */
static napi_value js_diff(napi_env env, napi_callback_info info) {
  ARGS(5);
  job_t *j = argc >= 5 ? image_job(env, argv[0], OP_DIFF) : NULL;
  bool whole = false;
  if (!j || get_string(env, argv[1], &j->s1) || get_u64(env, argv[2], &j->a) || get_u64(env, argv[3], &j->b) ||
      napi_get_value_bool(env, argv[4], &whole) != napi_ok)
    return bad(env, j, "rbd_io: diff(image, fromSnap, offset, length, wholeObject)");
  j->flag = whole;
  if (!j->image->open) return closed(env, j, "rbd_diff_iterate2");
  return queue(env, j);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"connect", NULL, js_connect, NULL, NULL, NULL, napi_enumerable, NULL},
    {"shutdown", NULL, js_shutdown, NULL, NULL, NULL, napi_enumerable, NULL},
    {"openPool", NULL, js_open_pool, NULL, NULL, NULL, napi_enumerable, NULL},
    {"closePool", NULL, js_close_pool, NULL, NULL, NULL, napi_enumerable, NULL},
    {"poolStat", NULL, js_pool_stat, NULL, NULL, NULL, napi_enumerable, NULL},
    {"monCommand", NULL, js_mon_command, NULL, NULL, NULL, napi_enumerable, NULL},
    {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"size", NULL, js_size, NULL, NULL, NULL, napi_enumerable, NULL},
    {"flush", NULL, js_flush, NULL, NULL, NULL, napi_enumerable, NULL},
    {"snapList", NULL, js_snap_list, NULL, NULL, NULL, napi_enumerable, NULL},
    {"snapCreate", NULL, js_snap_create, NULL, NULL, NULL, napi_enumerable, NULL},
    {"read", NULL, js_read, NULL, NULL, NULL, napi_enumerable, NULL},
    {"write", NULL, js_write, NULL, NULL, NULL, napi_enumerable, NULL},
    {"writeZeroes", NULL, js_write_zeroes, NULL, NULL, NULL, napi_enumerable, NULL},
    {"diff", NULL, js_diff, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  int major = 0, minor = 0, extra = 0;
  rbd_version(&major, &minor, &extra);
  char v[32];
  snprintf(v, sizeof v, "%d.%d.%d", major, minor, extra);
  napi_value version, abi;
  CHECK(env, napi_create_string_utf8(env, v, NAPI_AUTO_LENGTH, &version));
  CHECK(env, napi_set_named_property(env, exports, "librbdVersion", version));
  CHECK(env, napi_create_int32(env, 2, &abi));
  CHECK(env, napi_set_named_property(env, exports, "abiVersion", abi));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
