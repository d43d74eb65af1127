// Unit tests of the INI configuration layer: typed values, defaults and `section.key=value`
// overrides on a small schema and on wna_mpi's run_schema(); every error path (unknown key with
// a suggestion, wrong type, out of range, bad boolean, duplicate, missing required key, non-INI
// line, over-long line, missing file, bad --set) names the file, line and key; to_ini() and
// config_template() parse back to the same values; docs/config.md documents every key.
#include <gtest/gtest.h>

#include <set>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "wna/analyses/registry.hpp"
#include "wna/config/config.hpp"
#include "wna/core/error.hpp"
#include "wna/engine/run_config.hpp"
#include "wna/train/train_config.hpp"

namespace wna {
namespace {

namespace fs = std::filesystem;

std::string write_file(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
  return path.string();
}

using test::expect_usage_error;

// Two sections with one key of every type.
ConfigSchema small_schema() {
  ConfigSchema schema;
  auto add = [&](const std::string& section, KeySpec spec) {
    spec.section = section;
    schema.push_back(std::move(spec));
  };
  add("alpha", {.key = "count", .type = KeyType::Integer, .default_value = "3", .help = "a count",
                .min = 1, .max = 10});
  add("alpha", {.key = "ratio", .type = KeyType::Real, .default_value = "0.5", .help = "a ratio",
                .min = 0, .max = 1});
  add("alpha", {.key = "flag", .type = KeyType::Boolean, .default_value = "false", .help = "a flag"});
  add("alpha", {.key = "colour", .type = KeyType::Text, .default_value = "red", .help = "a colour",
                .choices = {"red", "green", "blue"}});
  add("beta", {.key = "weights", .type = KeyType::RealList, .default_value = "1, 2.5",
               .help = "some reals", .min = 0});
  add("beta", {.key = "tags", .type = KeyType::TextList, .default_value = "", .help = "some tags"});
  add("beta", {.key = "name", .type = KeyType::Text, .help = "a required name", .required = true});
  return schema;
}

// An existing file to stand for run_schema()'s model.file, whose value must name a file.
std::string existing_model_file(const fs::path& dir) { return write_file(dir / "model.pt", "x"); }

// Every key of `schema` has the same typed value in `a` and `b`.
void expect_same_values(const ConfigSchema& schema, const Config& a, const Config& b,
                        const std::string& skip = "") {
  for (const auto& spec : schema) {
    const std::string name = spec.name();
    if (name == skip) continue;
    switch (spec.type) {
      case KeyType::Integer: EXPECT_EQ(a.integer(name), b.integer(name)) << name; break;
      case KeyType::Real: EXPECT_EQ(a.real(name), b.real(name)) << name; break;
      case KeyType::Boolean: EXPECT_EQ(a.boolean(name), b.boolean(name)) << name; break;
      case KeyType::Text: EXPECT_EQ(a.text(name), b.text(name)) << name; break;
      case KeyType::RealList: EXPECT_EQ(a.real_list(name), b.real_list(name)) << name; break;
      case KeyType::TextList: EXPECT_EQ(a.text_list(name), b.text_list(name)) << name; break;
    }
  }
}

// The source tree: $WNA_SOURCE_DIR, else the nearest directory at or above the working
// directory that holds include/wna.
// The source tree, fixed at build time (tests/CMakeLists.txt defines WNA_SOURCE_DIR), so the
// test finds docs/ wherever the build folder is.
fs::path source_dir() { return WNA_SOURCE_DIR; }

TEST(ConfigSchema, FileValuesOfEveryType) {
  const auto dir = test::scratch_dir("config_values");
  const auto path = write_file(dir / "a.ini",
                               "; a comment\n[alpha]\ncount = 7\nratio = 0.25\nflag = yes\n"
                               "colour = blue\n\n[beta]\nweights = 0.5, 3 ,4e2\n"
                               "tags = x, y\nname = thing\n");
  const Config config = resolve_config(small_schema(), path, {});
  EXPECT_EQ(config.integer("alpha.count"), 7);
  EXPECT_EQ(config.real("alpha.ratio"), 0.25);
  EXPECT_TRUE(config.boolean("alpha.flag"));
  EXPECT_EQ(config.text("alpha.colour"), "blue");
  EXPECT_EQ(config.real_list("beta.weights"), (std::vector<double>{0.5, 3, 400}));
  EXPECT_EQ(config.text_list("beta.tags"), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(config.text("beta.name"), "thing");
  EXPECT_EQ(config.source(), path);
}

TEST(ConfigSchema, DefaultsFillAbsentKeys) {
  const auto dir = test::scratch_dir("config_defaults");
  const Config config =
      resolve_config(small_schema(), write_file(dir / "a.ini", "[beta]\nname = n\n"), {});
  EXPECT_EQ(config.integer("alpha.count"), 3);
  EXPECT_EQ(config.real("alpha.ratio"), 0.5);
  EXPECT_FALSE(config.boolean("alpha.flag"));
  EXPECT_EQ(config.text("alpha.colour"), "red");
  EXPECT_EQ(config.real_list("beta.weights"), (std::vector<double>{1, 2.5}));
  EXPECT_TRUE(config.text_list("beta.tags").empty());
}

TEST(ConfigSchema, OverridesReplaceFileValuesAndDefaults) {
  const auto dir = test::scratch_dir("config_overrides");
  const auto path = write_file(dir / "a.ini", "[alpha]\ncount = 7\n[beta]\nname = file\n");
  const Config config = resolve_config(
      small_schema(), path, {"alpha.count=9", " beta.name = from set ", "alpha.flag=on"});
  EXPECT_EQ(config.integer("alpha.count"), 9);
  EXPECT_EQ(config.text("beta.name"), "from set");
  EXPECT_TRUE(config.boolean("alpha.flag"));
  EXPECT_EQ(config.real("alpha.ratio"), 0.5);
}

TEST(ConfigSchema, OverridesWorkWithoutAConfigFile) {
  const Config config = resolve_config(small_schema(), "", {"beta.name=n", "alpha.count=2"});
  EXPECT_EQ(config.integer("alpha.count"), 2);
  EXPECT_EQ(config.text("beta.name"), "n");
}

TEST(ConfigSchema, IntegersAcceptExponentsAndDigitSeparatorsButNotFractions) {
  EXPECT_EQ(resolve_config(small_schema(), "", {"beta.name=n", "alpha.count=1e1"}).integer("alpha.count"), 10);
  EXPECT_EQ(resolve_config(small_schema(), "", {"beta.name=n", "alpha.count=1_0"}).integer("alpha.count"), 10);
  expect_usage_error([] { resolve_config(small_schema(), "", {"beta.name=n", "alpha.count=2.5"}); },
                     {"--set", "alpha.count", "'2.5'", "integer"});
}

// 2^53 + 1 is not a double: an integer key must read it exactly or reject it, never round it
// (two seeds would silently become the same run).
TEST(ConfigSchema, IntegersBeyondDoublePrecisionAreExactOrRejected) {
  const int64_t value = (int64_t{1} << 53) + 1;
  try {
    const Config config = resolve_config(run_schema(), "", {"run.seed=" + std::to_string(value)});
    EXPECT_EQ(config.integer("run.seed"), value);
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("run.seed"), std::string::npos) << e.what();
  }
}

TEST(ConfigSchema, NumbersAreDecimalOnly) {
  // strtod reads "0x10" as 16, "inf" and "nan": a config must not.
  for (const std::string text : {"0x10", "0X1p4", "inf", "nan", "1e3x"})
    expect_usage_error([&] { resolve_config(small_schema(), "", {"beta.name=n", "alpha.count=" + text}); },
                       {"alpha.count", "'" + text + "'", "expected integer"});
  EXPECT_EQ(resolve_config(small_schema(), "", {"beta.name=n", "alpha.count=+7"}).integer("alpha.count"), 7);
}

TEST(ConfigSchema, ExponentIntegersBeyondTwoToThe53SayWhy) {
  expect_usage_error([] { resolve_config(run_schema(), "", {"run.seed=1e16"}); },
                     {"run.seed = '1e16'", "exponent notation is exact only up to 2^53", "write this integer in digits"});
  EXPECT_EQ(resolve_config(run_schema(), "", {"run.seed=10000000000000000"}).integer("run.seed"), 10000000000000000);
}

TEST(ConfigSchema, TextMustBeUtf8) {
  const auto dir = test::scratch_dir("config_utf8");
  const std::string path = write_file(dir / "latin1.ini", "[beta]\nname = caf\xe9\n");
  expect_usage_error([&] { resolve_config(small_schema(), path, {}); }, {"latin1.ini:2", "beta.name", "not valid UTF-8"});
  EXPECT_EQ(resolve_config(small_schema(), write_file(dir / "utf8.ini", "[beta]\nname = caf\xc3\xa9\n"), {})
                .text("beta.name"), "caf\xc3\xa9");
}

TEST(ConfigSchema, TextOutsideItsChoicesIsRejectedWithTheChoices) {
  expect_usage_error([] { resolve_config(small_schema(), "", {"beta.name=n", "alpha.colour=pink"}); },
                     {"alpha.colour", "'pink'", "one of red, green, blue"});
}

TEST(ConfigSchema, MissingRequiredKeyIsNamed) {
  const auto dir = test::scratch_dir("config_required");
  const auto path = write_file(dir / "a.ini", "[alpha]\ncount = 2\n");
  expect_usage_error([&] { resolve_config(small_schema(), path, {}); },
                     {path, "missing required key beta.name"});
  expect_usage_error([] { resolve_config(training_schema(), "", {}); },
                     {"missing required key train.output"});
}

TEST(ConfigRunSchema, UnknownKeyNamesFileLineKeyAndNearestKey) {
  const auto dir = test::scratch_dir("config_unknown");
  const auto path = write_file(dir / "run.ini", "[run]\nseed = 3\nsample = 10\n");
  expect_usage_error([&] { resolve_config(run_schema(), path, {}); },
                     {path + ":3", "run.sample", "did you mean run.samples?"});
}

TEST(ConfigRunSchema, UnknownKeyFarFromEveryKeyHasNoSuggestion) {
  try {
    resolve_config(run_schema(), "", {"zzz.qqqqqq=1"});
    ADD_FAILURE() << "expected a UsageError";
  } catch (const UsageError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("--set"), std::string::npos) << message;
    EXPECT_NE(message.find("zzz.qqqqqq"), std::string::npos) << message;
    EXPECT_EQ(message.find("did you mean"), std::string::npos) << message;
  }
}

TEST(ConfigRunSchema, WrongTypeNamesLineKeyAndValue) {
  const auto dir = test::scratch_dir("config_type");
  const auto path = write_file(dir / "run.ini", "[run]\nsamples = abc\n");
  expect_usage_error([&] { resolve_config(run_schema(), path, {}); },
                     {path + ":2", "run.samples", "'abc'", "integer"});
}

TEST(ConfigRunSchema, OutOfRangeValuesAreRejected) {
  const auto dir = test::scratch_dir("config_range");
  const auto samples = write_file(dir / "samples.ini", "[run]\nsamples = 0\n");
  expect_usage_error([&] { resolve_config(run_schema(), samples, {}); },
                     {samples + ":2", "run.samples", "'0'", "in [1,"});
  const auto gammas = write_file(dir / "gamma.ini", "[gamma]\nvalues = 0, 1.5\n");
  expect_usage_error([&] { resolve_config(run_schema(), gammas, {}); },
                     {gammas + ":2", "gamma.values", "1.5", "[0, 1]"});
}

TEST(ConfigRunSchema, BadBooleanIsRejected) {
  const auto dir = test::scratch_dir("config_boolean");
  const auto path = write_file(dir / "run.ini", "[run]\noverwrite = maybe\n");
  expect_usage_error([&] { resolve_config(run_schema(), path, {}); },
                     {path + ":2", "run.overwrite", "'maybe'", "true or false"});
}

TEST(ConfigRunSchema, DuplicateKeyNamesTheSecondLine) {
  const auto dir = test::scratch_dir("config_duplicate");
  const auto path = write_file(dir / "run.ini", "[run]\nseed = 1\nsamples = 5\nseed = 2\n");
  expect_usage_error([&] { resolve_config(run_schema(), path, {}); },
                     {path + ":4", "run.seed", "twice"});
}

TEST(ConfigRunSchema, NonIniLineIsRejectedWithItsLine) {
  const auto dir = test::scratch_dir("config_syntax");
  const auto path = write_file(dir / "run.ini", "[run]\nseed = 1\nthis line has no equals sign\n");
  expect_usage_error([&] { resolve_config(run_schema(), path, {}); },
                     {path + ":3", "not a valid INI line"});
}

// "values = 000...01" padded with zeros to `length` characters (the single value 1).
std::string gamma_line_of_length(size_t length) {
  const std::string head = "values = ";
  return head + std::string(length - head.size() - 1, '0') + "1";
}

TEST(ConfigRunSchema, OverlongLineIsRejectedWithItsLine) {
  const auto dir = test::scratch_dir("config_long");
  const auto path = write_file(dir / "run.ini", "[gamma]\n; gammas\n" + gamma_line_of_length(200) + "\n");
  expect_usage_error([&] { resolve_config(run_schema(), path, {}); },
                     {path + ":3", "longer than"});
}

// The over-long-line error advises splitting the list; an indented continuation line (inih's
// multi-line values) is the way to split one, and must not count as a second value of the key.
TEST(ConfigRunSchema, ListContinuedOnAnIndentedLineIsOneValue) {
  const auto dir = test::scratch_dir("config_continuation");
  const auto path = write_file(dir / "run.ini", "[gamma]\nvalues = 0, 0.1,\n  0.2, 0.3\n");
  const Config config = resolve_config(run_schema(), path, {});
  EXPECT_EQ(config.real_list("gamma.values"), (std::vector<double>{0, 0.1, 0.2, 0.3}));
}

TEST(ConfigRunSchema, LineOfTheMaximumLengthIsAccepted) {
  const auto dir = test::scratch_dir("config_long_ok");
  const auto path = write_file(dir / "run.ini", "[gamma]\n" + gamma_line_of_length(199) + "\n[run]\nseed = 4\n");
  const Config config = resolve_config(run_schema(), path, {});
  EXPECT_EQ(config.real_list("gamma.values"), std::vector<double>{1.0});
  EXPECT_EQ(config.integer("run.seed"), 4);
}

TEST(ConfigRunSchema, MissingConfigFileIsNamed) {
  const auto path = (test::scratch_dir("config_missing") / "absent.ini").string();
  expect_usage_error([&] { resolve_config(run_schema(), path, {}); },
                     {path, "cannot open config file"});
}

TEST(ConfigRunSchema, DirectoryAsConfigFileIsRejected) {
  const auto dir = test::scratch_dir("config_directory").string();
  expect_usage_error([&] { resolve_config(run_schema(), dir, {}); }, {dir});
}

TEST(ConfigRunSchema, BadSetSyntaxIsRejected) {
  expect_usage_error([] { resolve_config(run_schema(), "", {"run.samples"}); },
                     {"--set 'run.samples'", "expected section.key=value"});
  expect_usage_error([] { resolve_config(run_schema(), "", {"samples=5"}); },
                     {"--set 'samples=5'", "expected section.key=value"});
}

TEST(ConfigRunSchema, BadSetValueIsAttributedToSet) {
  expect_usage_error([] { resolve_config(run_schema(), "", {"run.samples=abc"}); },
                     {"--set", "run.samples", "'abc'"});
  expect_usage_error([] { resolve_config(run_schema(), "", {"run.sample=5"}); },
                     {"--set", "unknown key run.sample", "did you mean run.samples?"});
}

TEST(ConfigRunSchema, DefaultsAndOverridesGiveTypedSettings) {
  const auto dir = test::scratch_dir("config_settings");
  const Config config = resolve_config(
      run_schema(), "",
      {"run.samples=20000", "noise.kind=gaussian", "gamma.values=0, 0.25, 1",
       "run.output=" + (dir / "out.h5").string()});
  const RunSettings settings = run_settings(config);
  EXPECT_EQ(settings.samples, 20000);
  EXPECT_EQ(settings.block_size, 1000);
  EXPECT_EQ(settings.blocks(), 20);
  EXPECT_EQ(settings.seed, 1u);
  EXPECT_EQ(settings.noise.seed, settings.seed);
  EXPECT_EQ(settings.noise.kind, NoiseKind::Gaussian);
  EXPECT_EQ(settings.noise.mean, 0.5);
  EXPECT_EQ(settings.noise.std, 0.25);
  EXPECT_EQ(settings.gammas, (std::vector<double>{0, 0.25, 1}));
  EXPECT_FALSE(settings.overwrite);
  EXPECT_EQ(config.real("analysis.confidence_floor"), 0.3);
  EXPECT_EQ(config.text_list("sta.layers"), std::vector<std::string>{});
  EXPECT_EQ(config.integer("sta.position_y"), 5);
}

TEST(ConfigRunSchema, DefaultRunSettingsAreTheSchemaDefaults) {
  const RunSettings s = default_run_settings();
  const Config defaults = default_config(run_schema());
  EXPECT_EQ(s.samples, defaults.integer("run.samples"));
  EXPECT_EQ(s.forward_batch, defaults.integer("run.forward_batch"));
  EXPECT_EQ(s.threads, defaults.integer("run.threads"));
  EXPECT_EQ(s.noise.mean, defaults.real("noise.mean"));
  EXPECT_EQ(s.noise.std, defaults.real("noise.std"));
  EXPECT_EQ(s.noise.kind, parse_noise_kind(defaults.text("noise.kind")));
  EXPECT_EQ(s.gammas, defaults.real_list("gamma.values"));
  EXPECT_EQ(s.output, defaults.text("run.output"));
}

TEST(ConfigRunSchema, EveryKeyIsDeclaredOnce) {
  std::set<std::string> names;
  for (const KeySpec& key : run_schema()) EXPECT_TRUE(names.insert(key.name()).second) << key.name() << " twice";
}

TEST(ConfigRunSchema, ToIniRoundTripsEveryValue) {
  const auto dir = test::scratch_dir("config_round_trip");
  const ConfigSchema schema = run_schema();
  const Config original = resolve_config(
      schema, "",
      {"run.seed=12345", "run.samples=1_000_000", "run.block_size=512", "run.overwrite=true",
       "run.progress_seconds=2.5", "run.output=" + (dir / "out dir" / "a.h5").string(),
       "model.file=" + existing_model_file(dir), "model.format=torchscript",
       "model.dataset=cifar10", "noise.kind=binary", "noise.mean=-1.25", "noise.std=0.1",
       "noise.binary_p=0.3", "gamma.values=0, 0.1, 1", "analysis.confidence_floor=0.75",
       "sta.layers=conv1, fc1", "sta.position_y=3", "sta.position_x=7"});
  const auto path = write_file(dir / "resolved.ini", original.to_ini());
  const Config reread = resolve_config(schema, path, {});
  expect_same_values(schema, original, reread);
  EXPECT_EQ(reread.to_ini(), original.to_ini());
}

// An archive's stored config from before a key existed means the value that wna then behaved
// as (KeySpec::implied_before: noise.gaussian_precision = double); a stored value, or an
// override, wins; a fresh config file gets the default.
TEST(ConfigRunSchema, ArchivedConfigWithoutALaterKeyMeansWhatEarlierWnaDid) {
  const auto dir = test::scratch_dir("config_archived");
  const ConfigSchema schema = run_schema();
  const std::string model = existing_model_file(dir);
  const Config now = resolve_config(schema, "", {"model.file=" + model, "noise.kind=gaussian"});
  EXPECT_EQ(now.text("noise.gaussian_precision"), "single");
  std::string earlier = now.to_ini();
  const auto line = earlier.find("gaussian_precision = single\n");
  ASSERT_NE(line, std::string::npos);
  earlier.erase(line, std::string("gaussian_precision = single\n").size());
  EXPECT_EQ(resolve_archived_config_text(schema, "old.h5", earlier).text("noise.gaussian_precision"), "double");
  EXPECT_EQ(resolve_config_text(schema, "run.ini", earlier, {}).text("noise.gaussian_precision"), "single");
  EXPECT_EQ(resolve_archived_config_text(schema, "new.h5", now.to_ini()).text("noise.gaussian_precision"), "single");
  EXPECT_EQ(resolve_archived_config_text(schema, "old.h5", earlier, {"noise.gaussian_precision=single"})
                .text("noise.gaussian_precision"),
            "single");
}

TEST(ConfigRunSchema, ToIniRoundTripsTheSmallSchema) {
  const auto dir = test::scratch_dir("config_round_trip_small");
  const Config original = resolve_config(
      small_schema(), "", {"beta.name=some name", "beta.tags=a, b c", "alpha.ratio=1e-3"});
  const Config reread =
      resolve_config(small_schema(), write_file(dir / "resolved.ini", original.to_ini()), {});
  expect_same_values(small_schema(), original, reread);
}

TEST(ConfigRunSchema, TemplateParsesBackToTheDefaults) {
  const auto dir = test::scratch_dir("config_template");
  const ConfigSchema schema = run_schema();
  const auto path = write_file(dir / "template.ini", config_template(schema, "wna_mpi config"));
  // model.file must name an existing file when given explicitly, and the template gives its
  // default relative to the working directory, so the test points it at a file of its own.
  const Config parsed = resolve_config(schema, path, {"model.file=" + existing_model_file(dir)});
  const Config defaults = resolve_config(schema, "", {});
  expect_same_values(schema, parsed, defaults, "model.file");
}

TEST(ConfigDocs, EveryRunAndTrainingKeyIsDocumented) {
  const fs::path docs = source_dir() / "docs" / "config.md";
  ASSERT_TRUE(fs::exists(docs)) << docs << " does not exist";
  std::ifstream in(docs);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  for (const auto& schema : {run_schema(), training_schema()})
    for (const auto& spec : schema)
      EXPECT_NE(text.find("`" + spec.name() + "`"), std::string::npos)
          << "`" << spec.name() << "` is not in " << docs;
}

TEST(ShippedConfigs, EveryConfigInConfigsResolvesAgainstItsProgramsSchema) {
  // configs/train/*.ini are wna_train's, the others wna_mpi's. Keys naming files that must
  // exist (models trained elsewhere) point at the config itself, which does.
  const fs::path configs = fs::path(WNA_SOURCE_DIR) / "configs";
  ASSERT_TRUE(fs::is_directory(configs)) << configs;
  int checked = 0;
  for (const auto& entry : fs::recursive_directory_iterator(configs)) {
    if (entry.path().extension() != ".ini") continue;
    const bool training = entry.path().parent_path().filename() == "train";
    const ConfigSchema schema = training ? training_schema() : run_schema();
    std::vector<std::string> overrides;
    for (const auto& spec : schema)
      if (spec.must_exist) overrides.push_back(spec.name() + "=" + entry.path().string());
    EXPECT_NO_THROW(resolve_config(schema, entry.path().string(), overrides)) << entry.path();
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

}  // namespace
}  // namespace wna
