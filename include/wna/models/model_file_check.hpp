// The check of a wna model file's structure, made before LibTorch reads it. A wna model file
// is a LibTorch archive (a zip) that holds only data: pickled attributes and tensors, and
// TorchScript class declarations without a single method. A file with anything else (a
// TorchScript module's code, a __setstate__, an unknown entry) is refused here, so none of its
// code ever runs when given as a wna model file (docs/security.md).
#pragma once

#include <cstddef>
#include <string>

namespace wna {

// Throws wna::Error "<name>: not a wna model file (<reason>)" unless `data` (the file's
// bytes) has the structure of a wna model file.
void check_wna_model_bytes(const std::string& name, const void* data, size_t size);

// The same for the file at `path` (read whole: model files are a few MB).
void check_wna_model_file(const std::string& path);

}  // namespace wna
