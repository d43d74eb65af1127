// The run's fingerprint and the collective gather of its state for a checkpoint (see
// include/wna/engine/checkpoint.hpp; the file itself: checkpoint_file.cpp).
#include "wna/engine/checkpoint.hpp"

#include <algorithm>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "wna/core/error.hpp"
#include "wna/core/mpi_session.hpp"
#include "wna/core/sha256.hpp"

namespace wna {

std::string run_fingerprint(const Config& config, const torch::Tensor& signals) {
  std::string text;
  for (const KeySpec& key : config.schema()) {
    if (key.effect == Effect::Results) {
      const std::string value = config.canonical(key.name());
      // at what checkpoints from before the key meant: no line, so that they match
      if (!key.implied_before.empty() && value == key.implied_before) continue;
      text += key.name() + " = " + value + "\n";
    } else if (key.effect == Effect::FileContent) {
      text += fmt::format("{} (SHA-256) = {}\n", key.name(), sha256_of_file(config.text(key.name())));
    }
  }
  if (signals.defined()) {
    const auto images = signals.to(torch::kFloat32).contiguous();
    text += fmt::format("gamma signals (test images, SHA-256) = {} images, {}\n", images.size(0),
                        sha256_of_bytes(images.data_ptr<float>(), static_cast<size_t>(images.numel()) * sizeof(float)));
  }
  return text;
}

namespace {

// A fingerprint line the checkpoint lacks: a key added since, which means its implied_before value.
std::string missing_line(const std::string& name, const ConfigSchema& schema) {
  const auto key = std::find_if(schema.begin(), schema.end(), [&](const KeySpec& k) { return k.name() == name; });
  if (key == schema.end() || key->implied_before.empty()) return "no " + name + " line (an earlier wna's)";
  return fmt::format("no {0} line (written before the key existed, it means {0} = {1}: --set {0}={1} resumes it)",
                     name, key->implied_before);
}

}  // namespace

void check_fingerprint(const std::string& path, const std::string& expected, const std::string& stored,
                       const ConfigSchema& schema) {
  if (expected == stored) return;
  // "name = value" lines by name, so that a line only one side has does not misalign the rest
  auto by_name = [](const std::string& text) {
    std::map<std::string, std::string> lines;
    std::istringstream stream(text);
    for (std::string line; std::getline(stream, line);) lines[line.substr(0, line.find(" = "))] = line;
    return lines;
  };
  const auto want = by_name(expected), have = by_name(stored);
  for (const auto& [name, wanted] : want) {
    const auto had = have.find(name);
    if (had == have.end() || had->second != wanted)
      throw UsageError(fmt::format("checkpoint {} belongs to another run: it has {} but this run has {}; use the "
                                   "settings it was written with, or another run.checkpoint path",
                                   path, had == have.end() ? missing_line(name, schema) : had->second, wanted));
  }
  for (const auto& [name, had] : have)
    if (!want.count(name))
      throw UsageError(fmt::format("checkpoint {} belongs to another run: it has {} but this run has none (at the "
                                   "value earlier versions implied, or a key this wna no longer has); use the "
                                   "settings it was written with, or another run.checkpoint path", path, had));
  throw UsageError(fmt::format("checkpoint {} belongs to another run; use another run.checkpoint path", path));
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
    normalize_limb_pairs(sum);  // the ranks' low limbs add up beyond 2^32
    state.limbs.push_back(std::move(sum));
  }
  return state;
}

}  // namespace wna
