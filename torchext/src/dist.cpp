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

#include <chrono>
#include <cstdint>
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

} // namespace

extern "C" {

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
    std::vector<std::vector<size_t>> buckets;
    int64_t size = 0;
    for (size_t i = 0; i < tensors.size(); ++i) {
      const auto &t = tensors[i];
      if (!t.defined()) {
        throw std::runtime_error("allreduce of an undefined tensor");
      }
      int64_t bytes = t.numel() * static_cast<int64_t>(t.element_size());
      bool fresh = buckets.empty() || size + bytes > bucket_bytes;
      if (!fresh) {
        const auto &first = tensors[buckets.back().front()];
        fresh = first.scalar_type() != t.scalar_type() ||
                first.device() != t.device();
      }
      if (fresh) {
        buckets.emplace_back();
        size = 0;
      }
      buckets.back().push_back(i);
      size += bytes;
    }
    std::vector<at::Tensor> flats;
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    int64_t total = 0;
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    opts.timeout = g->timeout;
    for (const auto &b : buckets) {
      std::vector<at::Tensor> parts;
      parts.reserve(b.size());
      for (size_t i : b) {
        parts.push_back(tensors[i].reshape({-1}));
      }
      auto flat = at::cat(parts);
      total += flat.numel() * static_cast<int64_t>(flat.element_size());
      std::vector<at::Tensor> one{flat};
      works.push_back(g->backend->allreduce(one, opts));
      flats.push_back(flat);
    }
    for (size_t k = 0; k < buckets.size(); ++k) {
      wait(works[k]);
      int64_t offset = 0;
      for (size_t i : buckets[k]) {
        auto &t = tensors[i];
        t.copy_(flats[k].narrow(0, offset, t.numel()).view(t.sizes()));
        offset += t.numel();
      }
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
