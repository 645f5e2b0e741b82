// The shim: what tch 0.24 does not bind, as plain C functions over tch's
// tensor handles (a `torch::Tensor*` each, the same `at::Tensor`).
//
// Every function catches C++ exceptions and returns them as a malloc'd
// message (NULL on success) for Rust to turn into an error: an exception
// must never cross into Rust.

#include <ATen/ATen.h>
#include <ATen/record_function.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

char *message(const char *what) {
  size_t n = std::strlen(what);
  char *out = static_cast<char *>(std::malloc(n + 1));
  if (out != nullptr) {
    std::memcpy(out, what, n + 1);
  }
  return out;
}

std::vector<at::Tensor> list(at::Tensor **ts, size_t n) {
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

// --- the op counter -------------------------------------------------------
// A RecordFunction callback over ATen's dispatcher: every op dispatched while
// it is on is counted, and each "leaf" op (one that dispatched no other op
// inside it, or a multi-tensor op) by name: on a GPU, the leaves are the ops
// that launch the kernels (or only touch metadata), which is what the count
// is for.

std::mutex counts_mutex;
std::unordered_map<std::string, uint64_t> leaf_counts;
std::atomic<uint64_t> all_count{0};
std::atomic<bool> counting{false};
at::CallbackHandle handle = 0;
// Per thread, for each op in progress: whether it dispatched another op,
// whether it is a multi-tensor op (counted as one leaf: on CUDA it is one
// kernel per chunk, while on CPU it dispatches the per-tensor op for each
// tensor), and whether it runs inside one (then it is not counted).
struct Open {
  bool had_child;
  bool multi;
  bool hidden;
};
thread_local std::vector<Open> open_ops;
thread_local int inside_multi = 0;

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction &fn) {
  if (!counting.load(std::memory_order_relaxed)) {
    return nullptr;
  }
  if (!open_ops.empty()) {
    open_ops.back().had_child = true;
  }
  bool hidden = inside_multi > 0;
  bool multi = !hidden && std::strncmp(fn.name(), "aten::_foreach_", 15) == 0;
  if (multi) {
    ++inside_multi;
  }
  open_ops.push_back(Open{false, multi, hidden});
  all_count.fetch_add(1, std::memory_order_relaxed);
  return nullptr;
}

void on_end(const at::RecordFunction &fn, at::ObserverContext *) {
  // An op that started before counting began has no entry.
  if (open_ops.empty()) {
    return;
  }
  Open op = open_ops.back();
  open_ops.pop_back();
  if (op.multi) {
    --inside_multi;
  }
  if (!op.hidden && (op.multi || !op.had_child) &&
      counting.load(std::memory_order_relaxed)) {
    std::lock_guard<std::mutex> lock(counts_mutex);
    leaf_counts[fn.name()] += 1;
  }
}

} // namespace

extern "C" {

void exc_torchext_free(char *p) { std::free(p); }

// self[i] = 0 for every i (one multi-tensor kernel per chunk on CUDA).
char *exc_foreach_zero_(at::Tensor **self, size_t n) {
  return guard([&] { at::_foreach_zero_(list(self, n)); });
}

// self[i].copy_(src[i]) (casting to self[i]'s dtype).
char *exc_foreach_copy_(at::Tensor **self, at::Tensor **src, size_t n) {
  return guard([&] { at::_foreach_copy_(list(self, n), list(src, n)); });
}

// self[i] *= scalar tensor `other` (a 0-dim tensor on the lists' device).
char *exc_foreach_mul_tensor_(at::Tensor **self, size_t n, at::Tensor *other) {
  return guard([&] { at::_foreach_mul_(list(self, n), *other); });
}

// self[i] += alpha * other[i].
char *exc_foreach_add_list_(at::Tensor **self, at::Tensor **other, size_t n,
                            double alpha) {
  return guard(
      [&] { at::_foreach_add_(list(self, n), list(other, n), alpha); });
}

// out[i] = ||self[i]||_ord computed in float32 (new tensors, owned by the
// caller and freed by tch's destructor).
char *exc_foreach_norm(at::Tensor **self, size_t n, double ord,
                       at::Tensor **out) {
  return guard([&] {
    auto norms = at::_foreach_norm(list(self, n), ord, at::kFloat);
    for (size_t i = 0; i < n; ++i) {
      out[i] = new at::Tensor(norms[i]);
    }
  });
}

// Starts counting dispatched ops (after clearing the counts).
char *exc_ops_start() {
  return guard([&] {
    {
      std::lock_guard<std::mutex> lock(counts_mutex);
      leaf_counts.clear();
    }
    all_count.store(0);
    if (handle == 0) {
      handle = at::addGlobalCallback(
          at::RecordFunctionCallback(on_start, on_end)
              .needsInputs(false)
              .scopes({at::RecordScope::FUNCTION}));
    }
    counting.store(true);
  });
}

// Stops counting; the counts stay readable until the next start.
char *exc_ops_stop() {
  return guard([&] {
    counting.store(false);
    if (handle != 0) {
      at::removeCallback(handle);
      handle = 0;
    }
  });
}

uint64_t exc_ops_all() { return all_count.load(); }

// The leaf counts as "name\tcount\n" lines (malloc'd; free with
// exc_torchext_free).
char *exc_ops_leaves() {
  std::string text;
  {
    std::lock_guard<std::mutex> lock(counts_mutex);
    for (const auto &kv : leaf_counts) {
      text += kv.first;
      text += '\t';
      text += std::to_string(kv.second);
      text += '\n';
    }
  }
  return message(text.c_str());
}

} // extern "C"
