// The checkpoint file (see include/wna/engine/checkpoint_file.hpp): a magic line, the
// payload's size and FNV-1a 64 checksum, then the payload, a Boost.Serialization binary archive
// of RunState, written through the one atomic writer.
#include "wna/engine/checkpoint_file.hpp"

#include <fstream>
#include <iterator>
#include <sstream>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <boost/serialization/version.hpp>
#include <fmt/format.h>

#include "wna/core/error.hpp"
#include "wna/core/output_file.hpp"

namespace boost::serialization {

template <class Archive>
void serialize(Archive& archive, wna::RunState& state, const unsigned int version) {
  archive & state.fingerprint & state.completed_blocks & state.limbs;
  if (version >= 1) archive & state.history;  // checkpoints of version 0 have none
}

}  // namespace boost::serialization

BOOST_CLASS_VERSION(wna::RunState, 1)

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

void normalize_limb_pairs(std::vector<int64_t>& limbs) {
  for (size_t i = 0; i + 1 < limbs.size(); i += 2) {
    const int64_t carry = limbs[i] >> 32;
    limbs[i] -= carry * (int64_t{1} << 32);
    limbs[i + 1] += carry;
  }
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

RunState load_checkpoint(const std::string& path) { return decode_checkpoint(path, read_file(path)); }

RunState decode_checkpoint(const std::string& path, const std::string& file) {
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

void check_run_state(const std::string& path, const RunState& state, const BlockRange& range,
                     const std::vector<size_t>& limb_counts) {
  const auto fail = [&](const std::string& what) {
    throw UsageError(fmt::format("checkpoint {}: {}; it was not written by this run (delete it to start afresh)", path,
                                 what));
  };
  const auto& done = state.completed_blocks;
  for (size_t i = 0; i < done.size(); ++i) {
    if (done[i] < range.first || done[i] >= range.end)
      fail(fmt::format("completed block {} is outside this job's blocks [{}, {})", done[i], range.first, range.end));
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

}  // namespace wna
