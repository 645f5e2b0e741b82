// The shim: what tch 0.24 does not bind, as plain C functions over tch's
// tensor handles (a `torch::Tensor*` each, the same `at::Tensor`).
//
// Every function catches C++ exceptions and returns them as a malloc'd
// message (NULL on success) for Rust to turn into an error: an exception
// must never cross into Rust.

#include <ATen/ATen.h>
#include <ATen/DeviceAccelerator.h>
#include <ATen/record_function.h>

#include "shim.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

using namespace exc_shim;

namespace {

// --- the op counter -------------------------------------------------------
// A RecordFunction callback over ATen's dispatcher. It counts:
// - every op dispatched (`all`);
// - "calls": the ops the caller dispatched itself (outermost on their
//   thread, or directly inside an autograd node during backward) that reach
//   a kernel (they, or an op inside them, compute; a view or a no-op `to`
//   does not). On a GPU each is about one kernel launch (a multi-tensor op
//   one per chunk of its list; a composite such as cross-entropy a few);
// - host reads: `_local_scalar_dense`, at any depth (`.item()` and friends),
//   each of which waits for the device.

std::mutex counts_mutex;
std::unordered_map<std::string, uint64_t> call_counts;
std::atomic<uint64_t> all_count{0};
std::atomic<uint64_t> host_reads{0};
std::atomic<uint64_t> multi_fallbacks{0};
std::atomic<bool> counting{false};
at::CallbackHandle handle = 0;

// Ops that launch nothing themselves: metadata, allocation, host reads, and
// ops that only dispatch others when they do work (`to` another kind,
// `dropout` at p > 0, `contiguous` of a strided tensor).
bool no_kernel(const char *name) {
  static const char *names[] = {
      "aten::empty", "aten::empty_strided", "aten::as_strided", "aten::view",
      "aten::_unsafe_view", "aten::_reshape_alias", "aten::reshape",
      "aten::alias", "aten::t", "aten::transpose", "aten::permute",
      "aten::expand", "aten::expand_as", "aten::unsqueeze", "aten::squeeze",
      "aten::select", "aten::slice", "aten::narrow", "aten::unbind",
      "aten::split", "aten::split_with_sizes", "aten::chunk", "aten::detach",
      "aten::detach_", "detach", "aten::lift_fresh", "aten::resolve_conj",
      "aten::resolve_neg", "aten::resize_", "aten::set_", "aten::result_type",
      "aten::real", "aten::to", "aten::type_as", "aten::contiguous",
      "aten::dropout", "aten::flatten", "aten::view_as", "aten::numpy_T",
      "aten::matrix_H", "aten::_has_compatible_shallow_copy_type",
      "aten::is_nonzero", "aten::size", "aten::stride", "aten::dim",
      "aten::empty_like", "aten::new_empty", "aten::new_empty_strided",
      "aten::item", "aten::_local_scalar_dense"};
  for (const char *n : names) {
    if (std::strcmp(name, n) == 0) {
      return true;
    }
  }
  return std::strncmp(name, "autograd::engine::evaluate_function", 35) == 0;
}

// Per thread, for each op in progress: whether it is an autograd node (its
// ops count as the caller's), whether it is a call to count, and whether it
// reached a kernel.
struct Open {
  bool node;
  bool call;
  bool kernel;
  bool multi;
};
thread_local std::vector<Open> open_ops;

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction &fn) {
  if (!counting.load(std::memory_order_relaxed)) {
    return nullptr;
  }
  const char *name = fn.name();
  bool node = std::strncmp(name, "autograd::engine::evaluate_function", 35) == 0;
  bool call = !node && (open_ops.empty() || open_ops.back().node);
  bool multi = call && std::strncmp(name, "aten::_foreach_", 15) == 0;
  open_ops.push_back(Open{node, call, false, multi});
  all_count.fetch_add(1, std::memory_order_relaxed);
  if (std::strcmp(name, "aten::_local_scalar_dense") == 0) {
    host_reads.fetch_add(1, std::memory_order_relaxed);
  }
  return nullptr;
}

void on_end(const at::RecordFunction &fn, at::ObserverContext *) {
  // An op that started before counting began has no entry.
  if (open_ops.empty()) {
    return;
  }
  Open op = open_ops.back();
  open_ops.pop_back();
  // An op reaches a kernel when one inside it did, or when it is not one of
  // the ops that launch nothing (then it computes, as a leaf or around
  // metadata ops only, as `mm` does around `resolve_conj`).
  if (!no_kernel(fn.name())) {
    op.kernel = true;
  }
  if (op.kernel && !open_ops.empty()) {
    open_ops.back().kernel = true;
    // A per-tensor op inside a multi-tensor call: the call fell back to one
    // op per tensor (always on CPU; on CUDA when, e.g., its lists mix kinds).
    if (open_ops.back().multi && counting.load(std::memory_order_relaxed)) {
      multi_fallbacks.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (op.call && op.kernel && counting.load(std::memory_order_relaxed)) {
    std::lock_guard<std::mutex> lock(counts_mutex);
    call_counts[fn.name()] += 1;
  }
}

} // namespace

extern "C" {

void exc_torchext_free(char *p) {
  if (p != no_memory) {
    std::free(p);
  }
}

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

// params[i].grad = grads[i], or no gradient where grads[i] is NULL (what
// torch's `zero_grad(set_to_none=True)` does: the next backward then writes
// each gradient instead of adding it to a zeroed one).
char *exc_set_grads(at::Tensor **params, at::Tensor **grads, size_t n) {
  return guard([&] {
    for (size_t i = 0; i < n; ++i) {
      params[i]->mutable_grad() =
          grads[i] == nullptr ? at::Tensor() : *grads[i];
    }
  });
}

// Initialises the accelerator (CUDA) if nothing has yet: the caching
// allocator's per-device tables exist only after the lazy init, and asking
// them before it throws ("did you call init?"). Throws without one (CPU).
void init_accelerator() {
  at::globalContext().lazyInitDevice(
      at::accelerator::getAccelerator(true).value());
}

// The accelerator's caching allocator, device `device`: out[0..4] =
// allocated bytes now, allocated peak, reserved bytes now, reserved peak
// (torch.cuda.memory_allocated / max_memory_allocated / memory_reserved /
// max_memory_reserved). An error without an accelerator (CPU).
char *exc_device_memory(int64_t device, int64_t *out) {
  return guard([&] {
    init_accelerator();
    auto stats =
        at::accelerator::getDeviceStats(static_cast<c10::DeviceIndex>(device));
    auto all = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
    out[0] = stats.allocated_bytes[all].current;
    out[1] = stats.allocated_bytes[all].peak;
    out[2] = stats.reserved_bytes[all].current;
    out[3] = stats.reserved_bytes[all].peak;
  });
}

// Starts the allocator's peaks afresh (torch.cuda.reset_peak_memory_stats).
char *exc_device_reset_peak(int64_t device) {
  return guard([&] {
    init_accelerator();
    at::accelerator::resetPeakStats(static_cast<c10::DeviceIndex>(device));
  });
}

// Gives the caching allocator's unused blocks back to the device
// (torch.cuda.empty_cache), so that another process can have them.
char *exc_device_empty_cache() {
  return guard([&] {
    init_accelerator();
    at::accelerator::emptyCache();
  });
}

// TF32 for float32 matmuls on CUDA (torch.set_float32_matmul_precision:
// "high" allows it, "highest" does not); a process-wide setting that CPU
// matmuls ignore.
char *exc_set_tf32_matmul(bool on) {
  return guard([&] {
    at::globalContext().setFloat32MatmulPrecision(on ? "high" : "highest");
  });
}

bool exc_tf32_matmul() { return at::globalContext().allowTF32CuBLAS(); }

// Starts counting dispatched ops (after clearing the counts).
char *exc_ops_start() {
  return guard([&] {
    {
      std::lock_guard<std::mutex> lock(counts_mutex);
      call_counts.clear();
    }
    all_count.store(0);
    host_reads.store(0);
    multi_fallbacks.store(0);
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

uint64_t exc_ops_host_reads() { return host_reads.load(); }

uint64_t exc_ops_multi_fallbacks() { return multi_fallbacks.load(); }

// The call counts as "name\tcount\n" lines (malloc'd; free with
// exc_torchext_free), or NULL if malloc fails.
char *exc_ops_calls() {
  std::string text;
  {
    std::lock_guard<std::mutex> lock(counts_mutex);
    for (const auto &kv : call_counts) {
      text += kv.first;
      text += '\t';
      text += std::to_string(kv.second);
      text += '\n';
    }
  }
  return copy(text.c_str());
}

} // extern "C"
