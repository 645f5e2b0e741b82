// ProcessGroupNCCL, compiled only where libtorch_cuda and the NCCL and CUDA
// headers (the torch wheel's nvidia-* packages) are found: dist.cpp asks it
// for a backend and never sees a CUDA header.

#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include <chrono>

c10::intrusive_ptr<c10d::Backend>
exc_make_nccl(const c10::intrusive_ptr<c10d::Store> &store, int rank,
              int world, std::chrono::milliseconds timeout) {
  auto opts = c10d::ProcessGroupNCCL::Options::create();
  opts->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world, opts);
}
