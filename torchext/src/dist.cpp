// Data parallelism through libtorch's own c10d: a TCPStore for the
// rendezvous, ProcessGroupGloo (CPU) or ProcessGroupNCCL (CUDA, from
// nccl.cpp) for the collectives. The same engine PyTorch's DDP runs on; no
// sockets or protocol of exc's own.
//
// Gloo's headers are not in the torch wheel: build.rs compiles this file
// with EXC_GLOO where Debian's libgloo-dev (or GLOO_INCLUDE) provides them.
// Only declarations are taken from them: every Gloo symbol comes from
// libtorch_cpu, which was built with its own copy.

#include "shim.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>
#ifdef EXC_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif

#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <tuple>
#include <utility>
#include <stdexcept>
#include <string>
#include <vector>

using namespace exc_shim;

#ifdef EXC_NCCL
// nccl.cpp: a ProcessGroupNCCL over `store` (CUDA headers stay there).
c10::intrusive_ptr<c10d::Backend>
exc_make_nccl(const c10::intrusive_ptr<c10d::Store> &store, int rank,
              int world, std::chrono::milliseconds timeout);
#endif

// One process group: the store it met the others through and the backend
// that runs the collectives.
struct exc_group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
  int rank;
  int world;
  std::chrono::milliseconds timeout;
};

namespace {

c10::intrusive_ptr<c10d::Backend>
make_backend(const std::string &name,
             const c10::intrusive_ptr<c10d::Store> &store, int rank, int world,
             std::chrono::milliseconds timeout) {
  if (name == "gloo") {
#ifdef EXC_GLOO
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    // As torch.distributed does: GLOO_SOCKET_IFNAME names the interface,
    // else the device that the host's name resolves to (loopback if none).
    const char *ifname = std::getenv("GLOO_SOCKET_IFNAME");
    if (ifname != nullptr && ifname[0] != '\0') {
      opts->devices.push_back(
          c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    } else {
      opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world,
                                                       opts);
#else
    throw std::runtime_error(
        "this exc was built without Gloo (its headers were not found: install "
        "Debian's libgloo-dev or set GLOO_INCLUDE, then rebuild)");
#endif
  }
  if (name == "nccl") {
#ifdef EXC_NCCL
    return exc_make_nccl(store, rank, world, timeout);
#else
    throw std::runtime_error(
        "this exc was built without NCCL (libtorch_cuda or the NCCL and CUDA "
        "headers were not found at build time)");
#endif
  }
  throw std::runtime_error("unknown backend `" + name + "` (gloo or nccl)");
}

void wait(const c10::intrusive_ptr<c10d::Work> &work) {
  // Work::wait's own timeout argument is ignored by Gloo; the group's
  // timeout (set at creation) bounds every collective.
  work->wait();
}

int64_t nbytes(const at::Tensor &t) {
  return t.numel() * static_cast<int64_t>(t.element_size());
}

// `ts` taken in `order`, cut into runs of one kind and device of at most
// `cap` bytes each (a larger tensor is a bucket alone): DDP's buckets.
std::vector<std::vector<size_t>> bucket(const std::vector<at::Tensor> &ts,
                                        const std::vector<size_t> &order,
                                        int64_t cap) {
  std::vector<std::vector<size_t>> buckets;
  int64_t size = 0;
  for (size_t i : order) {
    const auto &t = ts[i];
    if (!t.defined()) {
      throw std::runtime_error("allreduce of an undefined tensor");
    }
    bool fresh = buckets.empty() || size + nbytes(t) > cap;
    if (!fresh) {
      const auto &first = ts[buckets.back().front()];
      fresh = first.scalar_type() != t.scalar_type() ||
              first.device() != t.device();
    }
    if (fresh) {
      buckets.emplace_back();
      size = 0;
    }
    buckets.back().push_back(i);
    size += nbytes(t);
  }
  return buckets;
}

// One buffer of `parts` flattened, and its sum over the group launched.
std::pair<at::Tensor, c10::intrusive_ptr<c10d::Work>>
launch_sum(exc_group *g, const std::vector<at::Tensor> &parts) {
  std::vector<at::Tensor> flat_parts;
  flat_parts.reserve(parts.size());
  for (const auto &t : parts) {
    flat_parts.push_back(t.reshape({-1}));
  }
  std::vector<at::Tensor> one{at::cat(flat_parts)};
  c10d::AllreduceOptions opts;
  opts.reduceOp = c10d::ReduceOp::SUM;
  opts.timeout = g->timeout;
  auto work = g->backend->allreduce(one, opts);
  return {one[0], work};
}

// Copies `flat`'s consecutive slices back into `parts`.
void unflatten(const at::Tensor &flat, std::vector<at::Tensor> &parts) {
  int64_t offset = 0;
  for (auto &t : parts) {
    t.copy_(flat.narrow(0, offset, t.numel()).view(t.sizes()));
    offset += t.numel();
  }
}

} // namespace

// --- the allreduce overlapped with backward --------------------------------
// As DDP's reducer does: the parameters are split into buckets; a hook that
// autograd runs after accumulating a parameter's gradient marks it ready,
// and a bucket whose gradients are all ready is flattened and its allreduce
// launched while backward goes on. Buckets are launched in index order on
// every rank (a collective's place in the sequence is what pairs it with
// the other ranks'), so a bucket waits for the ones before it.

namespace {

struct OverlapState {
  exc_group *g = nullptr;
  std::vector<at::Tensor> params;
  std::vector<std::vector<size_t>> buckets;
  std::vector<size_t> bucket_of;
  std::vector<size_t> missing; // per bucket: gradients not ready yet
  std::vector<at::Tensor> flats;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  size_t next = 0;      // the next bucket to launch
  size_t launched_in_backward = 0;
  std::vector<int64_t> order; // parameters in the order they became ready
  bool armed = false;
  std::mutex m;

  void layout(const std::vector<size_t> &order, int64_t cap) {
    buckets = bucket(params, order, cap);
    bucket_of.assign(params.size(), 0);
    for (size_t b = 0; b < buckets.size(); ++b) {
      for (size_t i : buckets[b]) {
        bucket_of[i] = b;
      }
    }
  }

  // The gradients of bucket `b`'s parameters (zeros for one no micro-batch
  // reached on this rank).
  std::vector<at::Tensor> grads(size_t b) {
    std::vector<at::Tensor> out;
    for (size_t i : buckets[b]) {
      if (!params[i].grad().defined()) {
        params[i].mutable_grad() = at::zeros_like(params[i]);
      }
      out.push_back(params[i].grad());
    }
    return out;
  }

  void launch(size_t b) {
    std::tie(flats[b], works[b]) = launch_sum(g, grads(b));
  }

  void ready(size_t i) {
    std::lock_guard<std::mutex> lock(m);
    if (!armed) {
      return;
    }
    order.push_back(static_cast<int64_t>(i));
    size_t b = bucket_of[i];
    if (missing[b] > 0 && --missing[b] == 0) {
      while (next < buckets.size() && missing[next] == 0) {
        launch(next);
        ++next;
        ++launched_in_backward;
      }
    }
  }
};

struct ReadyHook : torch::autograd::PostAccumulateGradHook {
  std::shared_ptr<OverlapState> state;
  size_t index;
  ReadyHook(std::shared_ptr<OverlapState> s, size_t i)
      : state(std::move(s)), index(i) {}
  void operator()(const torch::autograd::Variable &) override {
    state->ready(index);
  }
};

} // namespace

struct exc_overlap {
  std::shared_ptr<OverlapState> state;
  int64_t cap;
};

extern "C" {

// Hooks the gradients of `params` (leaf tensors that require grad; none may
// carry another post-accumulate hook) into buckets of `bucket_bytes`, in
// the reverse of the given order until `exc_overlap_relayout` says better.
char *exc_overlap_new(exc_group *g, at::Tensor **ps, size_t n,
                      int64_t bucket_bytes, exc_overlap **out) {
  return guard([&] {
    auto st = std::make_shared<OverlapState>();
    st->g = g;
    st->params = list(ps, n);
    std::vector<size_t> order;
    for (size_t i = n; i-- > 0;) {
      order.push_back(i);
    }
    st->layout(order, bucket_bytes);
    for (size_t i = 0; i < n; ++i) {
      torch::autograd::impl::set_post_acc_grad_hooks(
          st->params[i], std::make_unique<ReadyHook>(st, i));
    }
    *out = new exc_overlap{st, bucket_bytes};
  });
}

void exc_overlap_free(exc_overlap *o) {
  try {
    for (auto &p : o->state->params) {
      torch::autograd::impl::post_acc_grad_hooks(p).reset();
    }
    delete o;
  } catch (...) {
  }
}

// The next backward's gradients are the step's: reduce them as they come.
char *exc_overlap_arm(exc_overlap *o) {
  return guard([&] {
    auto &st = *o->state;
    std::lock_guard<std::mutex> lock(st.m);
    st.armed = true;
    st.next = 0;
    st.launched_in_backward = 0;
    st.order.clear();
    st.missing.clear();
    for (const auto &b : st.buckets) {
      st.missing.push_back(b.size());
    }
    st.flats.assign(st.buckets.size(), at::Tensor());
    st.works.assign(st.buckets.size(), nullptr);
  });
}

// After the armed backward: launches the buckets still waiting (gradients
// that never came are zeros), sums `extra` over the group too, waits for
// everything and writes the sums into the gradients. out[0] = buckets,
// out[1] = bytes, out[2] = buckets launched during backward.
char *exc_overlap_finish(exc_overlap *o, at::Tensor **extra, size_t n_extra,
                         int64_t *out) {
  return guard([&] {
    auto &st = *o->state;
    std::lock_guard<std::mutex> lock(st.m);
    if (!st.armed) {
      throw std::runtime_error("exc_overlap_finish without exc_overlap_arm");
    }
    st.armed = false;
    while (st.next < st.buckets.size()) {
      st.launch(st.next++);
    }
    std::vector<at::Tensor> extras = list(extra, n_extra);
    at::Tensor extra_flat;
    c10::intrusive_ptr<c10d::Work> extra_work;
    if (!extras.empty()) {
      std::tie(extra_flat, extra_work) = launch_sum(st.g, extras);
    }
    int64_t total = 0;
    for (size_t b = 0; b < st.buckets.size(); ++b) {
      wait(st.works[b]);
      auto grads = st.grads(b);
      unflatten(st.flats[b], grads);
      total += nbytes(st.flats[b]);
    }
    if (extra_work) {
      wait(extra_work);
      unflatten(extra_flat, extras);
      total += nbytes(extra_flat);
    }
    out[0] = static_cast<int64_t>(st.buckets.size()) + (extra_work ? 1 : 0);
    out[1] = total;
    out[2] = static_cast<int64_t>(st.launched_in_backward);
  });
}

// The order in which the last armed backward's gradients became ready
// (parameter indices; `n` of them at most), for rank 0 to broadcast.
char *exc_overlap_order(exc_overlap *o, int64_t *out, size_t n, size_t *len) {
  return guard([&] {
    auto &st = *o->state;
    std::lock_guard<std::mutex> lock(st.m);
    *len = std::min(n, st.order.size());
    std::copy(st.order.begin(), st.order.begin() + *len, out);
  });
}

// Buckets anew, filled in `order` (every parameter once; those missing from
// it go last, in reverse index order): DDP's rebuild after the first step,
// so that the first bucket holds the gradients that are ready first.
char *exc_overlap_relayout(exc_overlap *o, const int64_t *order, size_t n) {
  return guard([&] {
    auto &st = *o->state;
    std::lock_guard<std::mutex> lock(st.m);
    std::vector<bool> seen(st.params.size(), false);
    std::vector<size_t> ord;
    for (size_t k = 0; k < n; ++k) {
      auto i = order[k];
      if (i < 0 || static_cast<size_t>(i) >= st.params.size() || seen[i]) {
        throw std::runtime_error("a bucket order names a parameter twice or one out of range");
      }
      seen[i] = true;
      ord.push_back(static_cast<size_t>(i));
    }
    for (size_t i = st.params.size(); i-- > 0;) {
      if (!seen[i]) {
        ord.push_back(i);
      }
    }
    st.layout(ord, o->cap);
  });
}

// The backends this build can create, comma-separated (a static string).
const char *exc_dist_backends() {
#if defined(EXC_GLOO) && defined(EXC_NCCL)
  return "gloo,nccl";
#elif defined(EXC_GLOO)
  return "gloo";
#elif defined(EXC_NCCL)
  return "nccl";
#else
  return "";
#endif
}

// Meets the other `world - 1` processes through a TCPStore at host:port
// (served by this process when `serve`, as rank 0 does unless torchrun's
// agent already serves one) under `prefix`, then creates the backend.
// Every wait (connecting, the rendezvous, each collective) is bounded by
// `timeout_ms`.
char *exc_dist_new(const char *backend, const char *host, int port, bool serve,
                   const char *prefix, int rank, int world, int64_t timeout_ms,
                   exc_group **out) {
  return guard([&] {
    if (port <= 0 || port > 65535) {
      throw std::runtime_error("port " + std::to_string(port) +
                               " is outside 1..65535");
    }
    auto timeout = std::chrono::milliseconds(timeout_ms);
    c10d::TCPStoreOptions o;
    o.port = static_cast<std::uint16_t>(port);
    o.isServer = serve;
    o.numWorkers = serve ? std::optional<std::size_t>(world) : std::nullopt;
    o.waitWorkers = false;
    o.timeout = timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(std::string(host), o);
    c10::intrusive_ptr<c10d::Store> store =
        c10::make_intrusive<c10d::PrefixStore>(std::string(prefix), tcp);
    auto g = new exc_group{store, nullptr, rank, world, timeout};
    try {
      g->backend = make_backend(backend, store, rank, world, timeout);
    } catch (...) {
      delete g;
      throw;
    }
    *out = g;
  });
}

void exc_dist_free(exc_group *g) {
  try {
    delete g;
  } catch (...) {
    // A destructor that throws (a broken connection) must not cross into Rust.
  }
}

// Sums `ts` across the group in place, in buckets of at most `bucket_bytes`
// (consecutive tensors of one kind and device, flattened into one buffer
// per bucket as DDP's reducer does): one collective per bucket, each bucket
// copied in while the ones before it are being reduced. `out[0]` = buckets,
// `out[1]` = bytes reduced.
char *exc_dist_allreduce_sum(exc_group *g, at::Tensor **ts, size_t n,
                             int64_t bucket_bytes, int64_t *out) {
  return guard([&] {
    auto tensors = list(ts, n);
    std::vector<size_t> order(tensors.size());
    for (size_t i = 0; i < order.size(); ++i) {
      order[i] = i;
    }
    auto buckets = bucket(tensors, order, bucket_bytes);
    std::vector<std::pair<at::Tensor, c10::intrusive_ptr<c10d::Work>>> sums;
    auto members = [&](const std::vector<size_t> &b) {
      std::vector<at::Tensor> out;
      for (size_t i : b) {
        out.push_back(tensors[i]);
      }
      return out;
    };
    // Every bucket is launched before the first is waited for: bucket k+1
    // is copied in while bucket k is on the wire.
    for (const auto &b : buckets) {
      sums.push_back(launch_sum(g, members(b)));
    }
    int64_t total = 0;
    for (size_t k = 0; k < buckets.size(); ++k) {
      wait(sums[k].second);
      auto parts = members(buckets[k]);
      unflatten(sums[k].first, parts);
      total += nbytes(sums[k].first);
    }
    out[0] = static_cast<int64_t>(buckets.size());
    out[1] = total;
  });
}

// Every rank's `ts` become rank `root`'s.
char *exc_dist_broadcast(exc_group *g, at::Tensor **ts, size_t n, int root) {
  return guard([&] {
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    opts.timeout = g->timeout;
    for (size_t i = 0; i < n; ++i) {
      // Gloo broadcasts contiguous tensors only; others go through a copy.
      auto &t = *ts[i];
      auto buf = t.is_contiguous() ? t : t.contiguous();
      std::vector<at::Tensor> one{buf};
      wait(g->backend->broadcast(one, opts));
      if (!buf.is_same(t)) {
        t.copy_(buf);
      }
    }
  });
}

// Returns when every rank has called it (or fails after the timeout).
char *exc_dist_barrier(exc_group *g) {
  return guard([&] {
    c10d::BarrierOptions opts;
    opts.timeout = g->timeout;
    wait(g->backend->barrier(opts));
  });
}

// Sets `key` in the group's store (bytes, for gathering what is not a
// tensor: predictions, notes).
char *exc_dist_store_set(exc_group *g, const char *key, const uint8_t *data,
                         size_t len) {
  return guard([&] {
    std::vector<uint8_t> v(data, data + len);
    g->store->set(std::string(key), v);
  });
}

// Waits for `key` (up to the timeout) and returns its bytes, malloc'd
// (free with exc_torchext_free).
char *exc_dist_store_get(exc_group *g, const char *key, uint8_t **data,
                         size_t *len) {
  return guard([&] {
    auto v = g->store->get(std::string(key));
    auto *p = static_cast<uint8_t *>(std::malloc(v.empty() ? 1 : v.size()));
    if (p == nullptr) {
      throw std::runtime_error("out of host memory reading the store");
    }
    if (!v.empty()) {
      std::memcpy(p, v.data(), v.size());
    }
    *data = p;
    *len = v.size();
  });
}

// Removes `key` from the group's store.
char *exc_dist_store_delete(exc_group *g, const char *key) {
  return guard([&] { g->store->deleteKey(std::string(key)); });
}

} // extern "C"
