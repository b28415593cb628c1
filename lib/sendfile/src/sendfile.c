/*
 * sendfile(2) for Node.js: copies file bytes to a socket inside the kernel, with no copy through
 * user space. One function, non-blocking by construction (the socket is libuv's, non-blocking):
 *   sendfile(socketFd, fileFd, offset, count) -> bytes sent (>= 0), or -errno (-EAGAIN: the
 *   socket buffer is full; the caller goes on another way).
 * Linux only; elsewhere it returns -ENOSYS.
 */
#include <errno.h>
#include <node_api.h>
#include <stdint.h>
#ifdef __linux__
#include <sys/sendfile.h>
#endif

static napi_value Sendfile(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_value result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4) {
    napi_throw_type_error(env, NULL, "sendfile(socketFd, fileFd, offset, count)");
    return NULL;
  }
  int32_t out_fd, in_fd;
  int64_t offset, count;
  if (napi_get_value_int32(env, argv[0], &out_fd) != napi_ok || napi_get_value_int32(env, argv[1], &in_fd) != napi_ok ||
      napi_get_value_int64(env, argv[2], &offset) != napi_ok || napi_get_value_int64(env, argv[3], &count) != napi_ok ||
      out_fd < 0 || in_fd < 0 || offset < 0 || count < 0) {
    napi_throw_type_error(env, NULL, "sendfile: descriptors, offset and count must be non-negative integers");
    return NULL;
  }
  int64_t sent;
#ifdef __linux__
  off_t off = (off_t)offset;
  ssize_t n;
  do {
    n = sendfile(out_fd, in_fd, &off, (size_t)count);
  } while (n < 0 && errno == EINTR);
  sent = n < 0 ? -(int64_t)errno : (int64_t)n;
#else
  (void)out_fd; (void)in_fd; (void)offset; (void)count;
  sent = -(int64_t)ENOSYS;
#endif
  napi_create_int64(env, sent, &result);
  return result;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "sendfile", NAPI_AUTO_LENGTH, Sendfile, NULL, &fn);
  napi_set_named_property(env, exports, "sendfile", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
