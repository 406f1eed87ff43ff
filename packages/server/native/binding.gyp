{
  "targets": [
    {
      "target_name": "sparse_io",
      "sources": ["sparse_io.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE", "_FILE_OFFSET_BITS=64"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS!='linux'", { "sources!": ["sparse_io.c"], "type": "none" }]
      ]
    }
  ]
}
