// Where each sum of an ExactBuffer lives: a layout of named fields, each an array of a given
// shape whose elements are one sum or a record of several (a unit's sums, laid out by its own
// ExactLayout). Every analysis describes its buffer with one, instead of index arithmetic.
//
//   ExactLayout layout;
//   const ExactField counts = layout.add("counts", {gammas, classes});
//   const ExactField sums = layout.add("sums", {gammas, classes, pixels});
//   ExactBuffer buffer(layout.sums());
//   buffer.add(counts.at({g, c}), 1.0);
//   buffer.add_row(sums.at({g, c}), image, pixels);  // a prefix of the indices: a row's start
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace wna {

struct ExactField {
  std::string name;
  size_t offset = 0;           // index of the field's first sum in the buffer
  std::vector<int64_t> shape;  // the array's extents
  size_t element = 1;          // sums per element (a record's size)

  size_t elements() const;
  size_t size() const { return elements() * element; }  // sums
  // Sums between neighbours along dimension `dim`.
  size_t stride(size_t dim) const;
  // The first sum of the element or sub-array at `index` (as many leading indices as given;
  // std::out_of_range beyond an extent).
  size_t at(std::initializer_list<int64_t> index) const;
};

class ExactLayout {
 public:
  // Appends a field; returns it (with its offset).
  ExactField add(std::string name, std::vector<int64_t> shape, size_t element = 1);
  size_t sums() const { return sums_; }

 private:
  size_t sums_ = 0;
};

}  // namespace wna
