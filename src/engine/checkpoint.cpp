// Checkpoints (see include/wna/engine/checkpoint.hpp). File: a magic line, the payload's size and
// FNV-1a 64 checksum, then the payload, a Boost.Serialization binary archive of RunState.
#include "wna/engine/checkpoint.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <fmt/format.h>

#include "wna/core/error.hpp"
#include "wna/core/mpi_session.hpp"
#include "wna/core/output_file.hpp"
#include "wna/core/sha256.hpp"

namespace boost::serialization {

template <class Archive>
void serialize(Archive& archive, wna::RunState& state, const unsigned int /*version*/) {
  archive & state.fingerprint & state.completed_blocks & state.limbs;
}

}  // namespace boost::serialization

namespace wna {
namespace {

const std::string kMagic = "wna checkpoint 1";

uint64_t fnv1a(const char* data, size_t size) {
  uint64_t hash = 14695981039346656037ULL;
  for (size_t i = 0; i < size; ++i) hash = (hash ^ static_cast<unsigned char>(data[i])) * 1099511628211ULL;
  return hash;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot be read", path));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

std::string run_fingerprint(const Config& config, const torch::Tensor& signals) {
  std::string text;
  for (const KeySpec& key : config.schema()) {
    if (key.effect == Effect::Results) {
      text += key.name() + " = " + config.canonical(key.name()) + "\n";
    } else if (key.effect == Effect::FileContent) {
      text += fmt::format("{} (SHA-256) = {}\n", key.name(), sha256_of_file(config.text(key.name())));
    }
  }
  if (signals.defined()) {
    const auto images = signals.to(torch::kFloat32).contiguous();
    text += fmt::format("gamma signals (test images, FNV-1a hash) = {} images, {:016x}\n", images.size(0),
                        fnv1a(reinterpret_cast<const char*>(images.data_ptr<float>()), images.numel() * sizeof(float)));
  }
  return text;
}

void save_checkpoint(const std::string& path, const RunState& state) {
  std::ostringstream payload_stream(std::ios::binary);
  {
    boost::archive::binary_oarchive archive(payload_stream);
    archive << state;
  }
  const std::string payload = payload_stream.str();
  try {
    AtomicFile file(path, true);
    const std::string header = fmt::format("{}\n{} {}\n", kMagic, payload.size(), fnv1a(payload.data(), payload.size()));
    file.write(header.data(), header.size());
    file.write(payload.data(), payload.size());
    file.commit();
  } catch (const Error& e) {
    throw Error(fmt::format("checkpoint not written: {}", e.what()));
  }
}

RunState load_checkpoint(const std::string& path) {
  const std::string file = read_file(path);
  std::istringstream in(file, std::ios::binary);
  std::string magic;
  size_t size = 0;
  uint64_t checksum = 0;
  std::getline(in, magic);
  if (magic != kMagic || !(in >> size >> checksum) || in.get() != '\n')
    throw Error(fmt::format("checkpoint {}: not a wna checkpoint (expected a first line '{}')", path, kMagic));
  const auto start = static_cast<size_t>(in.tellg());
  if (file.size() - start != size || fnv1a(file.data() + start, size) != checksum)
    throw Error(fmt::format("checkpoint {}: truncated or corrupted (size or checksum mismatch); delete it to start "
                            "the run afresh", path));
  RunState state;
  try {
    std::istringstream payload(file.substr(start), std::ios::binary);
    boost::archive::binary_iarchive archive(payload);
    archive >> state;
  } catch (const std::exception& e) {
    throw Error(fmt::format("checkpoint {}: cannot be decoded: {}", path, e.what()));
  }
  return state;
}

uint64_t checkpoint_digest(const RunState& state) {
  const auto& blocks = state.completed_blocks;
  return fnv1a(reinterpret_cast<const char*>(blocks.data()), blocks.size() * sizeof(int64_t)) | 1;
}

void check_fingerprint(const std::string& path, const std::string& expected, const std::string& stored) {
  if (expected == stored) return;
  std::istringstream want(expected), have(stored);
  std::string wanted, had;
  while (std::getline(want, wanted)) {
    if (!std::getline(have, had)) had = "(missing)";
    if (wanted != had)
      throw UsageError(fmt::format("checkpoint {} belongs to another run: it has {} but this run has {}; use the "
                                   "settings it was written with, or another run.checkpoint path",
                                   path, had, wanted));
  }
  throw UsageError(fmt::format("checkpoint {} belongs to another run; use another run.checkpoint path", path));
}

void check_run_state(const std::string& path, const RunState& state, int64_t blocks,
                     const std::vector<size_t>& limb_counts) {
  const auto fail = [&](const std::string& what) {
    throw UsageError(fmt::format("checkpoint {}: {}; it was not written by this run (delete it to start afresh)", path,
                                 what));
  };
  const auto& done = state.completed_blocks;
  for (size_t i = 0; i < done.size(); ++i) {
    if (done[i] < 0 || done[i] >= blocks)
      fail(fmt::format("completed block {} is outside the run's {} blocks", done[i], blocks));
    if (i > 0 && done[i] <= done[i - 1])
      fail(fmt::format("completed block {} is {} after block {}", done[i], done[i] == done[i - 1] ? "repeated" : "listed",
                       done[i - 1]));
  }
  if (state.limbs.size() != limb_counts.size())
    fail(fmt::format("it holds {} accumulators, this run has {}", state.limbs.size(), limb_counts.size()));
  for (size_t b = 0; b < limb_counts.size(); ++b) {
    if (state.limbs[b].size() != limb_counts[b])
      fail(fmt::format("accumulator {} has {} limbs, this run's has {}", b, state.limbs[b].size(), limb_counts[b]));
    for (size_t i = 0; i < state.limbs[b].size(); i += 2)
      if (state.limbs[b][i] < 0 || state.limbs[b][i] >= (int64_t{1} << 32))
        fail(fmt::format("accumulator {} sum {} is not normalised", b, i / 2));
  }
}

RunState gather_run_state(MPI_Comm comm, const std::string& fingerprint, const std::vector<int64_t>& my_completed,
                          const std::vector<ExactBuffer*>& buffers, size_t piece) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  RunState state;
  state.fingerprint = fingerprint;
  int count = static_cast<int>(my_completed.size());
  std::vector<int> counts(static_cast<size_t>(ranks)), displacements(static_cast<size_t>(ranks));
  check_mpi(MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, comm), "gather of completed block counts");
  int total = 0;
  for (int r = 0; r < ranks; ++r) displacements[static_cast<size_t>(r)] = total, total += counts[static_cast<size_t>(r)];
  if (rank == 0) state.completed_blocks.resize(static_cast<size_t>(total));
  check_mpi(MPI_Gatherv(my_completed.data(), count, MPI_INT64_T, state.completed_blocks.data(), counts.data(),
                        displacements.data(), MPI_INT64_T, 0, comm),
            "gather of completed blocks");
  std::sort(state.completed_blocks.begin(), state.completed_blocks.end());
  for (ExactBuffer* buffer : buffers) {
    buffer->normalize();
    std::vector<int64_t> sum(rank == 0 ? buffer->limb_count() : 0);
    for_each_piece(buffer->limb_count(), piece, [&](size_t first, int count) {
      check_mpi(MPI_Reduce(buffer->limbs() + first, rank == 0 ? sum.data() + first : nullptr, count, MPI_INT64_T,
                           MPI_SUM, 0, comm),
                "reduction of accumulators for a checkpoint");
    });
    for (size_t i = 0; i < sum.size(); i += 2) {  // the ranks' low limbs add up beyond 2^32
      const int64_t carry = sum[i] >> 32;
      sum[i] -= carry * (int64_t{1} << 32);
      sum[i + 1] += carry;
    }
    state.limbs.push_back(std::move(sum));
  }
  return state;
}

}  // namespace wna
