// Probes found in the TorchScript graph (see include/wna/models/graph_probes.hpp).
#include "wna/models/graph_probes.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
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
  for (const auto& child : module.named_children()) return !child.name.empty();
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

}  // namespace

torch::jit::Module submodule_at(const torch::jit::Module& root, const std::string& path) {
  torch::jit::Module module = root;
  for (size_t begin = 0; begin < path.size();) {
    const size_t end = std::min(path.find('.', begin), path.size());
    module = module.attr(path.substr(begin, end - begin)).toModule();
    begin = end + 1;
  }
  return module;
}

std::vector<std::string> probeable_submodules(const torch::jit::Module& module) {
  ExpandedGraph expanded(module, [](const std::string&) { return true; });
  std::vector<std::string> paths;
  for (const auto& path : expanded.order())
    if (why_not_probeable(expanded, path).empty()) paths.push_back(path);
  return paths;
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

}  // namespace wna
