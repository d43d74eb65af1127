// ImageSet subsets, the seeded train/validation split and the per-epoch batch shuffle.
// Shuffles use std::mt19937_64 (whose output the standard fixes) with a hand-written Fisher-Yates
// and an unbiased bounded draw, so a seed gives the same order with every standard library.
#include "wna/data/image_set.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "wna/core/error.hpp"

namespace wna {
namespace {

// Stream tags keep the split and the batch order independent when given the same seed.
constexpr uint64_t kSplitStream = 0x53504c4954000000ULL;  // "SPLIT"
constexpr uint64_t kBatchStream = 0x4241544348000000ULL;  // "BATCH"

// SplitMix64 finaliser: a bijection that scrambles nearby inputs into unrelated outputs.
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t derive_seed(uint64_t seed, uint64_t stream, uint64_t counter) {
  return splitmix64(splitmix64(seed ^ stream) ^ counter);
}

// Uniform integer in [0, bound), bound > 0: rejects the low 2^64 mod bound outputs so that every
// residue is equally likely.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t threshold = (0 - bound) % bound;
  uint64_t x = rng();
  while (x < threshold) x = rng();
  return x % bound;
}

// A permutation of 0..n-1 determined by `seed` alone.
std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(uniform_below(rng, static_cast<uint64_t>(i) + 1));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

torch::Tensor index_tensor(std::vector<int64_t> indices) {
  const auto n = static_cast<int64_t>(indices.size());
  return torch::from_blob(indices.data(), {n}, torch::kInt64).clone();
}

}  // namespace

ImageSet ImageSet::subset(const torch::Tensor& indices, const std::string& subset_name) const {
  if (!images.defined() || !labels.defined()) throw Error(name + ": image set has no data");
  if (!indices.defined() || indices.dim() != 1 || indices.scalar_type() != torch::kInt64) {
    throw Error(name + ": subset indices must be a 1-D int64 tensor");
  }
  if (indices.numel() > 0) {
    const int64_t low = indices.min().item<int64_t>();
    const int64_t high = indices.max().item<int64_t>();
    if (low < 0 || high >= size()) {
      throw Error(name + ": subset index " + std::to_string(low < 0 ? low : high) +
                  " is outside [0, " + std::to_string(size()) + ")");
    }
  }
  ImageSet result;
  result.name = subset_name;
  result.images = images.index_select(0, indices).contiguous();
  result.labels = labels.index_select(0, indices).contiguous();
  result.class_names = class_names;
  result.files = files;
  return result;
}

TrainValidationSplit split_train_validation(const ImageSet& set, double validation_fraction,
                                            uint64_t seed) {
  if (!(validation_fraction >= 0.0 && validation_fraction < 1.0)) {
    throw UsageError(set.name + ": validation fraction " + std::to_string(validation_fraction) +
                     " is outside [0, 1)");
  }
  const int64_t n = set.size();
  const auto n_validation = static_cast<int64_t>(std::llround(validation_fraction * n));
  const std::vector<int64_t> order = seeded_permutation(n, derive_seed(seed, kSplitStream, 0));

  // Each part keeps the original sample order; the batch sampler does the shuffling.
  std::vector<int64_t> validation(order.begin(), order.begin() + n_validation);
  std::vector<int64_t> train(order.begin() + n_validation, order.end());
  std::sort(validation.begin(), validation.end());
  std::sort(train.begin(), train.end());

  TrainValidationSplit split;
  split.train = set.subset(index_tensor(std::move(train)), set.name + ":train");
  split.validation = set.subset(index_tensor(std::move(validation)), set.name + ":validation");
  return split;
}

BatchSampler::BatchSampler(int64_t set_size, int64_t batch_size, uint64_t seed)
    : set_size_(set_size), batch_size_(batch_size), seed_(seed) {
  if (set_size < 0) throw Error("batch sampler: set size " + std::to_string(set_size) + " < 0");
  if (batch_size <= 0) {
    throw UsageError("batch sampler: batch size " + std::to_string(batch_size) + " must be > 0");
  }
}

std::vector<torch::Tensor> BatchSampler::epoch_batches(int64_t epoch) const {
  const uint64_t epoch_seed = derive_seed(seed_, kBatchStream, static_cast<uint64_t>(epoch));
  const torch::Tensor order = index_tensor(seeded_permutation(set_size_, epoch_seed));
  std::vector<torch::Tensor> batches;
  batches.reserve(static_cast<size_t>(batches_per_epoch()));
  for (int64_t start = 0; start < set_size_; start += batch_size_) {
    batches.push_back(order.slice(0, start, std::min(start + batch_size_, set_size_)));
  }
  return batches;
}

int64_t BatchSampler::batches_per_epoch() const {
  return (set_size_ + batch_size_ - 1) / batch_size_;
}

}  // namespace wna
