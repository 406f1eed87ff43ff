{
  "variables": {
    "have_librbd%": "<!(sh -c 'test -f /usr/include/rbd/librbd.h && test -f /usr/include/rados/librados.h && echo 1 || echo 0')"
  },
  "targets": [
    {
      "target_name": "sparse_io",
      "sources": ["sparse_io.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE", "_FILE_OFFSET_BITS=64"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS!='linux'", { "sources!": ["sparse_io.c"], "type": "none" }]
      ]
    },
    {
      "target_name": "rbd_io",
      "sources": ["rbd_io.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE", "_FILE_OFFSET_BITS=64"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lrbd", "-lrados"],
      "conditions": [
        ["OS!='linux' or have_librbd==0", { "sources!": ["rbd_io.c"], "libraries!": ["-lrbd", "-lrados"], "type": "none" }]
      ]
    }
  ]
}
