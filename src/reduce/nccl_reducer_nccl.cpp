// NCCL reduction of exact accumulators, built with -DWNA_WITH_NCCL=ON. The int64 limbs are
// staged to the rank's GPU and summed with ncclSum on ncclInt64, the same integer sum as the
// MPI path, so archives match bit for bit whichever reducer ran.
#include <cuda_runtime.h>
#include <nccl.h>

#include <string>
#include <vector>

#include "wna/core/error.hpp"
#include "wna/core/mpi_session.hpp"
#include "wna/reduce/reducer.hpp"

namespace wna {
namespace {

void check_cuda(cudaError_t code, const char* what) {
  if (code != cudaSuccess) throw Error(std::string(what) + ": CUDA error " + cudaGetErrorString(code));
}

void check_nccl(ncclResult_t code, const char* what) {
  if (code != ncclSuccess) throw Error(std::string(what) + ": NCCL error " + ncclGetErrorString(code));
}

// Device memory owned for the reducer's lifetime, grown on demand.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer() { if (data_) cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  int64_t* reserve(size_t count) {
    if (count > capacity_) {
      if (data_) cudaFree(data_);
      data_ = nullptr;
      check_cuda(cudaMalloc(reinterpret_cast<void**>(&data_), count * sizeof(int64_t)), "cudaMalloc");
      capacity_ = count;
    }
    return data_;
  }

 private:
  int64_t* data_ = nullptr;
  size_t capacity_ = 0;
};

class NcclReducer final : public Reducer {
 public:
  NcclReducer(MPI_Comm comm, int device) {
    MPI_Comm_size(comm, &ranks_);
    MPI_Comm_rank(comm, &rank_);
    check_cuda(cudaSetDevice(device), "cudaSetDevice");
    ncclUniqueId id;
    if (rank_ == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
    check_mpi(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, comm), "broadcast of the NCCL id");
    check_nccl(ncclCommInitRank(&comm_, ranks_, id, rank_), "ncclCommInitRank");
    check_cuda(cudaStreamCreate(&stream_), "cudaStreamCreate");
  }
  ~NcclReducer() override {
    cudaStreamDestroy(stream_);
    ncclCommDestroy(comm_);
  }
  std::string name() const override { return "nccl"; }

  void all_reduce(ExactBuffer& buffer) override {
    buffer.normalize();
    const size_t count = buffer.limb_count();
    int64_t* device = staging_.reserve(count);
    copy_to_device(device, buffer.limbs(), count);
    check_nccl(ncclAllReduce(device, device, count, ncclInt64, ncclSum, comm_, stream_), "ncclAllReduce");
    copy_to_host(buffer.limbs(), device, count);
    buffer.normalize();
  }

  void reduce_scatter(ExactBuffer& buffer, const std::vector<size_t>& offsets) override {
    // NCCL's reduce-scatter needs equal slices: reduce the whole range and keep our slice.
    buffer.normalize();
    const size_t first = 2 * offsets.front(), count = 2 * (offsets.back() - offsets.front());
    int64_t* device = staging_.reserve(count);
    copy_to_device(device, buffer.limbs() + first, count);
    check_nccl(ncclAllReduce(device, device, count, ncclInt64, ncclSum, comm_, stream_), "ncclAllReduce");
    const size_t mine = 2 * offsets[rank_], mine_count = 2 * (offsets[rank_ + 1] - offsets[rank_]);
    copy_to_host(buffer.limbs() + mine, device + (mine - first), mine_count);
    buffer.normalize();
  }

 private:
  void copy_to_device(int64_t* device, const int64_t* host, size_t count) {
    check_cuda(cudaMemcpyAsync(device, host, count * sizeof(int64_t), cudaMemcpyHostToDevice, stream_),
               "copy to device");
  }
  void copy_to_host(int64_t* host, const int64_t* device, size_t count) {
    check_cuda(cudaMemcpyAsync(host, device, count * sizeof(int64_t), cudaMemcpyDeviceToHost, stream_),
               "copy to host");
    check_cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  }

  int ranks_ = 1, rank_ = 0;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  DeviceBuffer staging_;
};

}  // namespace

std::unique_ptr<Reducer> make_nccl_reducer(MPI_Comm comm, int local_rank) {
  int devices = 0;
  check_cuda(cudaGetDeviceCount(&devices), "cudaGetDeviceCount");
  if (devices == 0) throw Error("run.reducer = 'nccl': no CUDA device on this node");
  return std::make_unique<NcclReducer>(comm, local_rank % devices);
}

}  // namespace wna
