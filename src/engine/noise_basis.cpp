// The run's structured-noise basis (see include/wna/engine/noise_basis.hpp).
#include "wna/engine/noise_basis.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "wna/core/error.hpp"
#include "wna/core/sha256.hpp"
#include "wna/core/mpi_session.hpp"
#include "wna/data/datasets.hpp"
#include "wna/noise/gabor_pca.hpp"

namespace wna {
namespace {

// A list key of whole numbers in [1, most] as integers; wna::UsageError naming the key otherwise.
std::vector<int64_t> whole_numbers(const std::vector<double>& values, const std::string& key, int64_t most,
                                   const std::string& what) {
  std::vector<int64_t> numbers;
  for (const double v : values) {
    if (!(v == std::floor(v) && v >= 1 && v <= static_cast<double>(most)))
      throw UsageError(fmt::format("{} = {}: each entry must be a whole number of {} from 1 to {}", key, v, what, most));
    numbers.push_back(static_cast<int64_t>(v));
  }
  if (numbers.empty()) throw UsageError(fmt::format("{}: list at least one {}", key, what));
  return numbers;
}

std::vector<double> doubles_of(const std::vector<float>& values) { return {values.begin(), values.end()}; }

// The most values of the Gabor dictionary (float64: 2 GiB), and the most floats one MPI
// broadcast sends.
constexpr int64_t kMostDictionaryValues = int64_t{1} << 28;
constexpr size_t kBroadcastPiece = size_t{1} << 30;

}  // namespace

NoiseBasisSetup build_noise_basis(const RunSettings& s, const ModelSpec& spec, bool fit) {
  const int64_t C = spec.channels, H = spec.height, W = spec.width;
  NoiseBasisSetup setup;
  if (s.noise.kind == NoiseKind::Sinusoid) {
    const auto scales = whole_numbers(s.sinusoid_scales, "noise.sinusoid_scales", std::max<int64_t>(1, std::min(H, W) / 4),
                                      "patches per side (each patch at least 4 pixels: 2 cycles of 2)");
    setup.basis = std::make_shared<NoiseBasis>(sinusoid_basis(C, H, W, scales));
    return setup;
  }
  if (s.noise.kind != NoiseKind::GaborPca) return setup;
  const auto sides = whole_numbers(s.gabor_sizes, "noise.gabor_sizes", std::max(H, W), "pixels within the image");
  ImageSet train;
  try {
    train = load_dataset(spec.dataset, "train", s.data_dir);
  } catch (const std::exception& e) {
    throw UsageError(fmt::format("data.data_dir = '{}': noise.kind = gabor_pca is fitted to the training images of "
                                 "{}: {}", s.data_dir, spec.dataset, first_line(e)));
  }
  if (train.channels() != C || train.height() != H || train.width() != W)
    throw UsageError(fmt::format("data.data_dir = '{}': the training images of {} are {} x {} x {}, the model takes "
                                 "{} x {} x {} (noise.kind = gabor_pca)",
                                 s.data_dir, spec.dataset, train.channels(), train.height(), train.width(), C, H, W));
  setup.data_files = train.files;
  const int64_t count = s.noise_fit_images > 0 ? std::min(s.noise_fit_images, train.size()) : train.size();
  const auto images = train.images.slice(0, 0, count).to(torch::kFloat32).contiguous();
  int64_t kernels = 0;  // the dictionary's columns (gabor_dictionary's count), known before it is built
  for (const int64_t side : sides) kernels += C * ((H + side - 1) / side) * ((W + side - 1) / side) * 8;
  if (kernels * C * H * W > kMostDictionaryValues)
    throw UsageError(fmt::format("noise.gabor_sizes = {}: {} Gabor kernels of {} pixels each are more than the {} "
                                 "values the fit holds (valid: larger sides)",
                                 fmt::join(s.gabor_sizes, ", "), kernels, C * H * W, kMostDictionaryValues));
  if (s.noise_components > kernels || s.noise_components > count)
    throw UsageError(fmt::format("noise.components = {}: more than the {} Gabor kernels of noise.gabor_sizes or the {} "
                                 "training images fitted",
                                 s.noise_components, kernels, count));
  if (fit) {
    setup.basis = std::make_shared<NoiseBasis>(
        fit_gabor_pca(images, gabor_dictionary(C, H, W, sides), s.noise_components, s.noise_ridge));
    return setup;
  }
  setup.basis = std::make_shared<NoiseBasis>();
  const auto D = static_cast<size_t>(s.noise_components), P = static_cast<size_t>(C * H * W);
  setup.basis->pixels = C * H * W;
  setup.basis->images.assign(D * P, 0.0f);
  setup.basis->offset.assign(P, 0.0f);
  setup.basis->low.assign(D, 0.0f);
  setup.basis->high.assign(D, 0.0f);
  return setup;
}

void broadcast_noise_basis(NoiseBasis& basis, MPI_Comm comm, int root) {
  for (std::vector<float>* part : {&basis.images, &basis.offset, &basis.low, &basis.high})
    for (size_t first = 0; first < part->size(); first += kBroadcastPiece) {
      const size_t count = std::min(kBroadcastPiece, part->size() - first);
      check_mpi(MPI_Bcast(part->data() + first, static_cast<int>(count), MPI_FLOAT, root, comm),
                "sending the noise basis");
    }
}

std::string noise_basis_fingerprint(const NoiseBasis& basis) {
  std::string bytes;
  for (const std::vector<float>* part : {&basis.images, &basis.offset, &basis.low, &basis.high})
    bytes.append(reinterpret_cast<const char*>(part->data()), part->size() * sizeof(float));
  return fmt::format("noise basis (SHA-256) = {}\n", sha256_of_bytes(bytes.data(), bytes.size()));
}

void write_noise_basis(ArchiveWriter& archive, const NoiseBasis& basis, const RunSettings& s, const ModelSpec& spec,
                       int rank) {
  const int64_t D = basis.latents(), C = spec.channels, H = spec.height, W = spec.width;
  const bool root = rank == 0;  // rank 0 writes every row: the basis is small
  const auto put = [&](const DatasetSpec& dataset, const std::vector<float>& values) {
    const std::vector<double> rows = root ? doubles_of(values) : std::vector<double>{};
    archive.write(dataset, rows_or_none(rows), 0, root ? dataset.dims[0] : 0);
  };
  archive.define_axis("latent", index_axis(D));
  archive.define_axis("channel", index_axis(C));
  archive.define_axis("y", index_axis(H));
  archive.define_axis("x", index_axis(W));
  put({"/noise_basis/images", {D, C, H, W}, {"latent", "channel", "y", "x"},
       "b_k: the image latent coefficient k multiplies"},
      basis.images);
  put({"/noise_basis/offset", {C, H, W}, {"channel", "y", "x"}, "the image every sample starts from"}, basis.offset);
  put({"/noise_basis/low", {D}, {"latent"}, "coefficient k = low + (high - low) u, u uniform in [0, 1)"}, basis.low);
  put({"/noise_basis/high", {D}, {"latent"}, "see low"}, basis.high);
  const std::string group = "/noise_basis";
  archive.set_attribute(group, "kind", noise_kind_name(s.noise.kind));
  if (s.noise.kind == NoiseKind::GaborPca) {
    archive.set_attribute(group, "components", s.noise_components);
    archive.set_attribute(group, "gabor_sizes", fmt::format("{}", fmt::join(s.gabor_sizes, ", ")));
    archive.set_attribute(group, "ridge", s.noise_ridge);
    archive.set_attribute(group, "fit_images", s.noise_fit_images);
  } else {
    archive.set_attribute(group, "sinusoid_scales", fmt::format("{}", fmt::join(s.sinusoid_scales, ", ")));
  }
}

}  // namespace wna
