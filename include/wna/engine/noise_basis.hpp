// The run's structured-noise basis (noise.kind = gabor_pca or sinusoid; noise/structured_noise.hpp):
// built from the [noise] keys and, for gabor_pca, the model's training images; fitted on one
// rank and sent to the others, so that every rank draws the same samples even on nodes whose
// linear algebra rounds differently; written to the archive as /noise_basis.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <mpi.h>

#include "wna/archive/archive.hpp"
#include "wna/engine/run_config.hpp"
#include "wna/models/network.hpp"
#include "wna/noise/structured_noise.hpp"

namespace wna {

struct NoiseBasisSetup {
  std::shared_ptr<NoiseBasis> basis;    // nullptr for white noise
  std::vector<std::string> data_files;  // the training files it was fitted to
};

// The basis for `spec`'s images: fitted when `fit`, else of the right shape with zeros (for a
// rank that receives it). wna::UsageError naming the key for a bad size, scale or data.data_dir.
NoiseBasisSetup build_noise_basis(const RunSettings& settings, const ModelSpec& spec, bool fit);

// Collective: every rank's basis becomes `root`'s (in place: copies of the settings see it).
void broadcast_noise_basis(NoiseBasis& basis, MPI_Comm comm, int root = 0);

// A line for the checkpoint fingerprint: the basis's SHA-256 (a resumed run or a merge refits
// it, perhaps on other hardware: its samples must be the same).
std::string noise_basis_fingerprint(const NoiseBasis& basis);

// Collective: /noise_basis (images, offset, coefficient ranges) and its settings as attributes.
void write_noise_basis(ArchiveWriter& archive, const NoiseBasis& basis, const RunSettings& settings,
                       const ModelSpec& spec, int rank);

}  // namespace wna
