{
  "targets": [
    {
      "target_name": "mcs_gsm",
      "sources": ["gsm.cc"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-fno-exceptions"],
      "cflags_cc!": ["-fno-rtti"],
      "libraries": ["-lrt", "-lpthread"]
    }
  ]
}
