// Probes found in the TorchScript graph (see include/wna/models/graph_probes.hpp).
#include "wna/models/graph_probes.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>

#include "wna/core/error.hpp"

namespace wna {
namespace {

using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

bool starts_with_path(const std::string& path, const std::string& prefix) {
  return path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 && path[prefix.size()] == '.';
}

// The dotted path of the module value `module` (a chain of GetAttr from the graph's self), or
// nothing where it is reached otherwise.
std::optional<std::string> module_path(Value* module, Value* self) {
  std::vector<std::string> names;
  for (Value* v = module; v != self; v = v->node()->input(0)) {
    if (v->node()->kind() != c10::prim::GetAttr) return std::nullopt;
    names.push_back(v->node()->s(c10::attr::name));
  }
  std::string path;
  for (auto name = names.rbegin(); name != names.rend(); ++name) path += (path.empty() ? "" : ".") + *name;
  return path;
}

bool is_call(const Node* node) { return node->kind() == c10::prim::CallMethod; }

bool has_children(const torch::jit::Module& module) {
  for (const auto& child : module.named_children()) {  // (slot_list's size() counts every attribute)
    (void)child;
    return true;
  }
  return false;
}

// A copy of forward's graph in which the submodule calls chosen by `expand(path)` are inlined,
// repeatedly, so that calls inside them surface; with where each call's output is.
class ExpandedGraph {
 public:
  ExpandedGraph(const torch::jit::Module& module, const std::function<bool(const std::string&)>& expand)
      : graph_(module.get_method("forward").graph()->copy()), self_(graph_->inputs()[0]) {
    for (bool inlined = true; inlined;) {
      inlined = false;
      for (Node* node : graph_->block()->nodes()) {
        const auto path = called_path(node);
        if (!path || !expand(*path)) continue;
        const torch::jit::Module callee = submodule_at(module, *path);
        if (!has_children(callee)) continue;
        inline_call(node, *path, callee);
        inlined = true;
        break;  // the node list changed
      }
    }
    calls_ = inlined_;
    for (Node* node : graph_->block()->nodes())
      if (const auto path = called_path(node)) calls_[*path].push_back(node->output());
    find_nested_calls(graph_->block());
    order_paths();
  }

  Graph& graph() { return *graph_; }
  std::shared_ptr<Graph> shared_graph() { return graph_; }
  // Outputs of the top-level calls of each path (inlined calls included).
  const std::map<std::string, std::vector<Value*>>& calls() const { return calls_; }
  // Paths called inside a loop or a condition.
  bool called_in_nested_block(const std::string& path) const { return nested_.count(path) > 0; }
  // Every called path, in the order of the graph (a parent before its children).
  const std::vector<std::string>& order() const { return order_; }

 private:
  // The submodule path a node calls a method of, if it is a call of a submodule.
  std::optional<std::string> called_path(const Node* node) const {
    if (!is_call(node)) return std::nullopt;
    auto path = module_path(node->input(0), self_);
    if (path && path->empty()) return std::nullopt;  // a method of the module itself
    return path;
  }

  void inline_call(Node* node, const std::string& path, const torch::jit::Module& callee) {
    Value* old_output = node->output();
    auto& function = torch::jit::toGraphFunction(callee.get_method(node->s(c10::attr::name)).function());
    const auto outputs = torch::jit::inlineCallTo(node, &function, /*inline_optimized_graph=*/false);
    for (auto& [name, values] : inlined_)
      for (Value*& value : values)
        if (value == old_output) value = outputs.at(0);
    inlined_[path].push_back(outputs.at(0));
  }

  void find_nested_calls(Block* block, bool nested = false) {
    for (Node* node : block->nodes()) {
      if (nested)
        if (const auto path = called_path(node)) nested_.insert(*path);
      for (Block* inner : node->blocks()) find_nested_calls(inner, true);
    }
  }

  // Sorts the called paths by where their (first) output is made in the top-level block.
  void order_paths() {
    std::map<const Node*, size_t> position;
    for (Node* node : graph_->block()->nodes()) position.emplace(node, position.size() + 1);
    auto top_level = [&](const Node* node) {
      while (node->owningBlock() != graph_->block() && node->owningBlock()->owningNode() != nullptr)
        node = node->owningBlock()->owningNode();
      const auto found = position.find(node);
      return found == position.end() ? size_t{0} : found->second;  // 0: a graph input
    };
    std::vector<std::pair<size_t, std::string>> keyed;
    for (const auto& [path, values] : calls_) keyed.emplace_back(top_level(values.front()->node()), path);
    std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [key, path] : keyed) order_.push_back(path);
    for (const auto& path : nested_)
      if (!calls_.count(path)) order_.push_back(path);
  }

  std::shared_ptr<Graph> graph_;
  Value* self_;
  std::map<std::string, std::vector<Value*>> inlined_, calls_;
  std::set<std::string> nested_;
  std::vector<std::string> order_;
};

// Why the call of `path` cannot be probed, or "" where it can.
std::string why_not_probeable(const ExpandedGraph& expanded, const std::string& path) {
  const auto found = expanded.calls().find(path);
  if (expanded.called_in_nested_block(path)) return "forward calls it inside a loop or a condition";
  if (found == expanded.calls().end()) return "forward does not call it";
  if (found->second.size() > 1)
    return fmt::format("forward calls it {} times (a module reused, e.g. one ReLU for several layers)",
                       found->second.size());
  if (!found->second.front()->type()->cast<c10::TensorType>())
    return "its call returns " + found->second.front()->type()->repr_str() + ", not one tensor";
  return "";
}

// A square spatial setting stored as a scripted module's constant (an int or a tuple of
// equal ints, as torch.nn's Conv2d and MaxPool2d declare them).
std::optional<int64_t> square_constant(const torch::jit::Module& module, const std::string& name) {
  const auto value = module.type()->findConstant(name);
  if (!value) return std::nullopt;
  if (value->isInt()) return value->toInt();
  if (!value->isTuple()) return std::nullopt;
  const auto& elements = value->toTupleRef().elements();
  if (elements.empty() || !elements[0].isInt()) return std::nullopt;
  for (const auto& element : elements) {
    if (!element.isInt() || element.toInt() != elements[0].toInt()) return std::nullopt;
  }
  return elements[0].toInt();
}

// An int, or a list of equal ints, given as constants in a graph (a traced module keeps its
// convolution's and pooling's settings that way).
std::optional<int64_t> square_graph_constant(torch::jit::Value* value) {
  torch::jit::Node* node = value->node();
  if (node->kind() == c10::prim::ListConstruct) {
    std::optional<int64_t> first;
    for (torch::jit::Value* element : node->inputs()) {
      const auto v = torch::jit::toIValue(element);
      if (!v || !v->isInt() || (first && *first != v->toInt())) return std::nullopt;
      first = v->toInt();
    }
    return first;
  }
  const auto v = torch::jit::toIValue(value);
  if (!v) return std::nullopt;
  if (v->isInt()) return v->toInt();
  if (!v->isIntList() || v->toIntList().empty()) return std::nullopt;
  const auto list = v->toIntVector();
  return std::all_of(list.begin(), list.end(), [&](int64_t e) { return e == list[0]; }) ? std::optional(list[0])
                                                                                          : std::nullopt;
}

// A traced Conv2d's or MaxPool2d's kernel, stride, padding and dilation, from the convolution
// or pooling node of its forward graph.
bool read_traced_geometry(const torch::jit::Module& child, LayerInfo& info) {
  const auto graph = child.get_method("forward").graph();
  for (torch::jit::Node* node : graph->nodes()) {
    const std::string kind = node->kind().toQualString();
    int64_t first = 0;  // index of the stride input
    std::optional<int64_t> kernel;
    if (kind == "aten::_convolution" || kind == "aten::conv2d") {
      first = 3;
      const auto weight = child.attr("weight").toTensor();
      if (weight.dim() == 4 && weight.size(2) == weight.size(3)) kernel = weight.size(2);
    } else if (kind == "aten::max_pool2d") {
      first = 2;
      kernel = square_graph_constant(node->input(1));
    } else {
      continue;
    }
    const auto stride = square_graph_constant(node->input(first));
    const auto padding = square_graph_constant(node->input(first + 1));
    const auto dilation = square_graph_constant(node->input(first + 2));
    if (!kernel || !stride || !padding || !dilation) return false;
    info.kernel = *kernel, info.stride = *stride, info.padding = *padding, info.dilation = *dilation;
    return true;
  }
  return false;
}

// Kind (from the child's class name) and, for conv2d/maxpool2d, geometry (from a scripted
// module's constants or a traced module's graph). A spatial layer whose geometry cannot be read
// is reported as an opaque "module".
}  // namespace

LayerInfo describe_submodule(const std::string& name, const torch::jit::Module& child) {
  LayerInfo info;
  info.name = name;
  info.kind = "module";
  const std::string type = child.type()->name() ? child.type()->name()->name() : "";
  if (type == "Linear") info.kind = "linear";
  if (type == "ReLU") info.kind = "relu";
  if (type == "Flatten") info.kind = "flatten";
  if (type == "BatchNorm2d") info.kind = "batchnorm2d";
  if (type == "Conv2d" || type == "MaxPool2d") {
    const auto kernel = square_constant(child, "kernel_size");
    const auto stride = square_constant(child, "stride");
    const auto padding = square_constant(child, "padding");
    const auto dilation = square_constant(child, "dilation");
    bool known = kernel && stride && padding && dilation;
    if (known) {
      info.kernel = *kernel, info.stride = *stride, info.padding = *padding, info.dilation = *dilation;
    } else {
      known = read_traced_geometry(child, info);
    }
    if (known) info.kind = type == "Conv2d" ? "conv2d" : "maxpool2d";
  }
  return info;
}

torch::jit::Module submodule_at(const torch::jit::Module& root, const std::string& path) {
  torch::jit::Module module = root;
  for (size_t begin = 0; begin < path.size();) {
    const size_t end = std::min(path.find('.', begin), path.size());
    module = module.attr(path.substr(begin, end - begin)).toModule();
    begin = end + 1;
  }
  return module;
}

std::string add_probed_forward(torch::jit::Module& module, const std::vector<std::string>& paths) {
  std::set<std::string> modules;
  for (const auto& m : module.named_modules()) modules.insert(m.name);
  for (const auto& path : paths)
    if (path.empty() || !modules.count(path))
      throw Error(fmt::format("'{}' is not a submodule of the TorchScript module", path));
  ExpandedGraph expanded(module, [&](const std::string& candidate) {
    return std::any_of(paths.begin(), paths.end(), [&](const std::string& p) { return starts_with_path(p, candidate); });
  });
  std::vector<Value*> outputs{expanded.graph().outputs()[0]};
  for (const auto& path : paths) {
    const std::string why = why_not_probeable(expanded, path);
    if (!why.empty()) throw Error(fmt::format("submodule '{}' cannot be probed: {}", path, why));
    outputs.push_back(expanded.calls().at(path).front());
  }
  Graph& graph = expanded.graph();
  graph.setInsertPoint(graph.return_node());
  Node* tuple = graph.insertNode(graph.createTuple(outputs));
  graph.eraseOutput(0);
  graph.registerOutput(tuple->output());

  std::string name;
  for (int k = 0; name.empty() || module.find_method(name); ++k) name = fmt::format("wna_probed_forward_{}", k);
  auto compilation_unit = module._ivalue()->compilation_unit();
  auto* function = compilation_unit->create_function(c10::QualifiedName(*module.type()->name(), name),
                                                     expanded.shared_graph());
  module.type()->addMethod(function);
  return name;
}

namespace {

// Receptive fields of the values of an expanded forward graph, from the input forward through
// the steps whose geometry is known. A value missing from `fields` and from `unknown` does not
// depend on the input (a constant, a parameter, a module).
class FieldWalk {
 public:
  FieldWalk(const torch::jit::Module& module, ExpandedGraph& expanded) : module_(module) {
    Graph& graph = expanded.graph();
    fields_[graph.inputs()[1]] = ReceptiveField{};
    for (Node* node : graph.block()->nodes()) visit(node);
  }

  std::optional<ReceptiveField> field_of(Value* value) const {
    const auto found = fields_.find(value);
    if (found == fields_.end()) return std::nullopt;
    return found->second;
  }

 private:
  bool depends_on_input(Value* value) const { return fields_.count(value) || unknown_.count(value); }

  void visit(Node* node) {
    bool dependent = false, all_known = true;
    for (Value* input : node->inputs()) {
      if (!depends_on_input(input)) continue;
      dependent = true;
      all_known = all_known && fields_.count(input);
    }
    if (!dependent) return;
    std::optional<ReceptiveField> field;
    if (all_known && node->blocks().empty()) field = output_field(node);
    for (Value* output : node->outputs()) {
      if (field)
        fields_[output] = *field;
      else
        unknown_.insert(output);
    }
  }

  // The field of a node's output from its input-dependent inputs' fields (all known), or
  // nothing where the step's geometry is unknown.
  std::optional<ReceptiveField> output_field(Node* node) const {
    const std::string kind = node->kind().toQualString();
    if (kind == "prim::CallMethod") {
      const auto path = module_path(node->input(0), node->owningGraph()->inputs()[0]);
      if (!path || node->inputs().size() != 2) return std::nullopt;
      const LayerInfo info = describe_submodule(*path, submodule_at(module_, *path));
      if (info.kind == "conv2d" || info.kind == "maxpool2d")
        return through(field_of(node->input(1)), info.kernel, info.stride, info.padding, info.dilation);
      if (info.kind == "relu" || info.kind == "batchnorm2d") return field_of(node->input(1));
      static const std::unordered_set<std::string> pointwise_modules{
          "Identity", "Dropout", "Dropout2d", "ReLU6", "Sigmoid", "Tanh", "GELU", "SiLU", "LeakyReLU", "Hardtanh", "ELU"};
      const auto type = submodule_at(module_, *path).type()->name();
      if (type && pointwise_modules.count(type->name())) return field_of(node->input(1));
      return std::nullopt;
    }
    static const std::unordered_set<std::string> pointwise{
        "aten::relu", "aten::relu_", "aten::batch_norm", "aten::dropout", "aten::sigmoid", "aten::tanh",
        "aten::contiguous", "aten::clone", "aten::hardtanh", "aten::hardtanh_", "aten::leaky_relu", "aten::gelu",
        "aten::silu", "aten::elu", "aten::detach"};
    if (pointwise.count(kind)) return field_of(node->input(0));
    static const std::unordered_set<std::string> combining{"aten::add", "aten::add_", "aten::sub", "aten::mul",
                                                           "aten::div"};
    if (combining.count(kind)) {
      std::optional<ReceptiveField> combined;
      for (Value* input : node->inputs()) {
        const auto field = field_of(input);
        if (!field) continue;
        if (!combined) {
          combined = field;
        } else if (combined->jump != field->jump) {
          return std::nullopt;
        } else {
          const int64_t end = std::max(combined->start + combined->size, field->start + field->size);
          combined->start = std::min(combined->start, field->start);
          combined->size = end - combined->start;
        }
      }
      return combined;
    }
    if (kind == "aten::_convolution" || kind == "aten::conv2d") {
      if (kind == "aten::_convolution") {
        const auto transposed = torch::jit::toIValue(node->input(6));
        if (!transposed || !transposed->isBool() || transposed->toBool()) return std::nullopt;
      }
      const auto kernel = weight_side(node->input(1));
      const auto stride = square_graph_constant(node->input(3)), padding = square_graph_constant(node->input(4)),
                 dilation = square_graph_constant(node->input(5));
      if (!kernel || !stride || !padding || !dilation) return std::nullopt;
      return through(field_of(node->input(0)), *kernel, *stride, *padding, *dilation);
    }
    if (kind == "aten::max_pool2d") {
      const auto kernel = square_graph_constant(node->input(1)), stride = square_graph_constant(node->input(2)),
                 padding = square_graph_constant(node->input(3)), dilation = square_graph_constant(node->input(4));
      if (!kernel || !stride || !padding || !dilation) return std::nullopt;
      return through(field_of(node->input(0)), *kernel, *stride, *padding, *dilation);
    }
    return std::nullopt;
  }

  // The side of a square convolution weight (a parameter reached by GetAttr, or a constant).
  std::optional<int64_t> weight_side(Value* weight) const {
    torch::Tensor tensor;
    if (weight->node()->kind() == c10::prim::GetAttr) {
      const auto owner = module_path(weight->node()->input(0), weight->owningGraph()->inputs()[0]);
      if (!owner) return std::nullopt;
      const auto value = submodule_at(module_, *owner).attr(weight->node()->s(c10::attr::name));
      if (!value.isTensor()) return std::nullopt;
      tensor = value.toTensor();
    } else if (const auto constant = torch::jit::toIValue(weight); constant && constant->isTensor()) {
      tensor = constant->toTensor();
    }
    if (!tensor.defined() || tensor.dim() != 4 || tensor.size(2) != tensor.size(3)) return std::nullopt;
    return tensor.size(2);
  }

  static std::optional<ReceptiveField> through(std::optional<ReceptiveField> field, int64_t kernel, int64_t stride,
                                               int64_t padding, int64_t dilation) {
    if (!field) return std::nullopt;
    field->size += dilation * (kernel - 1) * field->jump;
    field->start -= padding * field->jump;
    field->jump *= stride;
    return field;
  }

  const torch::jit::Module& module_;
  std::unordered_map<Value*, ReceptiveField> fields_;
  std::unordered_set<Value*> unknown_;
};

}  // namespace

ForwardGraphLayers read_forward_graph(const torch::jit::Module& module) {
  ExpandedGraph expanded(module, [](const std::string&) { return true; });
  const FieldWalk walk(module, expanded);
  Value* self = expanded.graph().inputs()[0];
  ForwardGraphLayers layers;
  for (const auto& path : expanded.order()) {
    if (!why_not_probeable(expanded, path).empty()) continue;
    layers.probeable.push_back(path);
    Value* output = expanded.calls().at(path).front();
    if (const auto field = walk.field_of(output)) layers.fields.emplace(path, *field);
    auto& consumers = layers.consumers[path];
    for (const auto& use : output->uses())
      if (is_call(use.user) && use.offset == 1)
        if (const auto consumer = module_path(use.user->input(0), self); consumer && !consumer->empty())
          consumers.push_back(*consumer);
  }
  return layers;
}

}  // namespace wna
