// The engine's noise pipeline with the real analysis plug-ins, made from layouts the tests
// resolve themselves, for one virtual rank's blocks: the accumulators are read back through
// each analysis's accumulator(). On `device` (a GPU), or with `device_path` on the CPU, the
// pipeline runs the GPU ranks' path (tensor operations).
#pragma once

#include <memory>
#include <optional>

#include "wna/analyses/activation_maps/activation_maps_analysis.hpp"
#include "wna/analyses/classification_images/classification_images_analysis.hpp"
#include "wna/analyses/registry.hpp"
#include "wna/analyses/sta/sta_analysis.hpp"
#include "wna/analyses/stc/stc_analysis.hpp"
#include "wna/engine/noise_pipeline.hpp"

namespace wna::test {

class PipelineUnderTest {
 public:
  PipelineUnderTest(Network& network, const RunSettings& settings, const StimulusMixer& mixer,
                    const StaLayout& sta = StaLayout(), const StcLayout& stc = StcLayout(),
                    const ActivationMapLayout& maps = ActivationMapLayout(), double confidence_floor = 0.3,
                    torch::Device device = torch::kCPU, bool device_path = false)
      : config_(default_config(run_schema())),
        context_{config_, settings, network, {}, {}, {}},
        class_images_(context_, confidence_floor, 0.05, ClusterSettings{}),
        sta_(context_, sta),
        stc_(context_, stc, 4),
        maps_(context_, maps),
        pipeline_(network, settings, mixer, {&class_images_, &sta_, &stc_, &maps_}, device, device_path) {}

  void run(const RankBlocks& blocks, PhaseTimer& timer) { pipeline_.run(blocks, timer); }
  std::vector<ExactBuffer*> buffers() const { return pipeline_.buffers(); }
  NoisePipeline& pipeline() { return pipeline_; }

  ClassImageAccumulator& class_images() { return class_images_.accumulator(); }
  StaAccumulator& sta() { return sta_.accumulator(); }
  StcAccumulator& stc() { return stc_.accumulator(); }
  ActivationMapAccumulator& activation_maps() { return maps_.accumulator(); }

 private:
  Config config_;
  RunContext context_;
  ClassImagesAnalysis class_images_;
  StaAnalysis sta_;
  StcAnalysis stc_;
  ActivationMapsAnalysis maps_;
  NoisePipeline pipeline_;
};

}  // namespace wna::test
