// What every file of the shim shares: how a C++ exception becomes a
// malloc'd message for Rust (NULL on success), and tch's handle lists.
#pragma once

#include <ATen/ATen.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace exc_shim {

// What `message` returns when malloc fails: a failure must still read as
// one (NULL means success). exc_torchext_free never frees it.
inline char no_memory[] = "out of host memory while reporting a C++ exception";

// A malloc'd copy of `what`, or NULL if malloc fails.
inline char *copy(const char *what) {
  size_t n = std::strlen(what);
  char *out = static_cast<char *>(std::malloc(n + 1));
  if (out != nullptr) {
    std::memcpy(out, what, n + 1);
  }
  return out;
}

inline char *message(const char *what) {
  char *out = copy(what);
  return out != nullptr ? out : no_memory;
}

inline std::vector<at::Tensor> list(at::Tensor **ts, size_t n) {
  std::vector<at::Tensor> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(*ts[i]);
  }
  return out;
}

template <typename F> char *guard(F f) {
  try {
    f();
    return nullptr;
  } catch (const std::exception &e) {
    return message(e.what());
  } catch (...) {
    return message("unknown C++ exception");
  }
}

} // namespace exc_shim
