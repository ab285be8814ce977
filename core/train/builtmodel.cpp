#include "core/train/builtmodel.h"

#include "core/models/checkpoint.h"
#include "core/models/hflayout.h"
#include "core/models/modelconfig.h"
#include "core/strategies/adapters.h"
#include "core/strategies/basicstrategies.h"
#include "core/strategies/lora.h"
#include "core/strategies/peft.h"
#include "core/strategies/prefix.h"
#include "core/tokenize/tokenizer.h"
#include "core/train/dataprep.h"
#include "core/train/trainer.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"

#include <ATen/autocast_mode.h>
#include <torch/nn/modules/dropout.h>
#include <torch/serialize.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;

AutocastScope::AutocastScope(bool on) : m_on(on)
{
  if (!m_on)
    return;
  at::autocast::set_cpu_enabled(true);
  at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope()
{
  if (!m_on)
    return;
  if (at::autocast::decrement_nesting() == 0)
    at::autocast::clear_cache();
  at::autocast::set_cpu_enabled(false);
}

namespace {

std::vector<std::string> defaultLoraTargets(const std::string &family)
{
  if (family == "use-lite")
    return {"qkv"};
  if (family == "gpt2")
    return {"c_attn"};
  if (family == "t5")
    return {"q", "v"};
  if (family == "distilbert")
    return {"q_lin", "v_lin"};
  return {"query", "value"};
}

} // namespace

std::unique_ptr<Strategy> makeStrategy(const ExperimentConfig &c, const std::string &family, const Tokenizer &tokenizer)
{
  const auto &s = c.strategy;
  if (!s.adapter.empty())
    return strategyFromPeft(c.resolve(s.adapter), c.seed);
  if (s.name == "full")
    return std::make_unique<FullFineTuning>();
  if (s.name == "linear_probe")
    return std::make_unique<LinearProbe>();
  if (s.name == "bitfit")
    return std::make_unique<BitFit>();
  if (s.name == "ia3")
    return std::make_unique<Ia3Strategy>();
  if (s.name == "partial") {
    PartialOptions o;
    o.freezeEmbeddings = s.freezeEmbeddings;
    o.freezeBottomLayers = s.freezeBottomLayers;
    o.freezeLayers = std::set<int>(s.freezeLayers.begin(), s.freezeLayers.end());
    o.layerDecay = s.layerDecay;
    if (s.headLrScale > 0)
      o.headLearningRateScale = s.headLrScale;
    return std::make_unique<PartialFineTuning>(o);
  }
  if (s.name == "lora") {
    LoraOptions o;
    o.r = s.loraR;
    o.alpha = s.loraAlpha;
    o.dropout = s.loraDropout;
    o.targets = s.loraTargets.empty() ? defaultLoraTargets(family) : s.loraTargets;
    o.rsLora = s.rsLora;
    o.bias = s.loraBias;
    o.seed = c.seed;
    return std::make_unique<LoraStrategy>(o);
  }
  if (s.name == "prompt") {
    PromptOptions o;
    o.virtualTokens = s.promptTokens;
    for (const Token &t : tokenizer.tokenize(s.promptInitText))
      o.initIds.push_back(t.id);
    return std::make_unique<PromptTuning>(o);
  }
  if (s.name == "prefix")
    return std::make_unique<PrefixTuning>(PrefixOptions{s.prefixTokens, s.prefixReparameterize, s.prefixHidden});
  if (s.name == "adapters")
    return std::make_unique<AdapterStrategy>(AdapterOptions{s.adapterKind, s.adapterReduction, s.adapterActivation});
  throw Error("strategy \"" + s.name + "\" is not known");
}

namespace {

HeadKind headKind(const ExperimentConfig &c)
{
  if (c.task.kind == "multi_label")
    return HeadKind::MultiLabel;
  if (c.task.kind == "token_tagging")
    return HeadKind::TokenClassification;
  return HeadKind::Classification;
}

Gpt2Config languageModelConfig(const ExperimentConfig &c, const Tokenizer &tokenizer, const fs::path &folder)
{
  if (fileExists(folder / "config.json")) {
    const std::string type = readModelType(folder / "config.json");
    if (type != "gpt2")
      throw Error((folder / "config.json").string() + ": model_type \"" + type +
                  "\": causal language modelling runs on GPT-2 models here");
    return Gpt2Config::fromFile(folder / "config.json");
  }
  if (c.model.init != "random")
    throw Error(folder.string() + ": no config.json; set model.init: random to train a GPT-2 from scratch with the "
                                  "tokenizer in this folder");
  const int eos = endOfTextId(tokenizer);
  const json config = {{"model_type", "gpt2"}, {"architectures", {"GPT2LMHeadModel"}},
                       {"vocab_size", tokenizer.vocabSize()}, {"n_embd", c.model.scratchHidden},
                       {"n_layer", c.model.scratchLayers}, {"n_head", c.model.scratchHeads},
                       {"n_positions", std::max(c.model.maxLength, 512)}, {"n_ctx", std::max(c.model.maxLength, 512)},
                       {"bos_token_id", eos}, {"eos_token_id", eos}, {"activation_function", "gelu_new"},
                       {"layer_norm_epsilon", 1e-5}, {"resid_pdrop", 0.1}, {"embd_pdrop", 0.1}, {"attn_pdrop", 0.1}};
  return Gpt2Config::fromJson(config, "model.scratch");
}

// config.json of the model folder, or a small model from scratch (model.scratch.*) around the
// folder's tokenizer: BERT for masked LM, T5 (ReLU, tied) for span corruption and seq2seq.
json denoisingModelConfig(const ExperimentConfig &c, const PretrainingNoise &noise, const Tokenizer &tokenizer,
                          const fs::path &folder)
{
  const fs::path file = folder / "config.json";
  const std::set<std::string> families = c.task.kind == "masked_lm" ? std::set<std::string>{"bert", "roberta", "distilbert"}
                                                                    : std::set<std::string>{"t5", "mt5"};
  if (fileExists(file)) {
    const std::string type = readModelType(file);
    if (!families.count(type))
      throw Error(file.string() + ": model_type \"" + type + "\": task.kind " + c.task.kind + " runs on " +
                  (c.task.kind == "masked_lm" ? "BERT, RoBERTa or DistilBERT" : "T5") + " models");
    if (c.model.init != "random")
      return readJsonFile(file);
  } else if (c.model.init != "random") {
    throw Error(folder.string() + ": no config.json; set model.init: random to train a model from scratch with the "
                                  "tokenizer in this folder");
  }
  const int h = c.model.scratchHidden, layers = c.model.scratchLayers, heads = c.model.scratchHeads;
  const int pad = std::max(0, tokenizer.specialTokens().pad);
  if (c.task.kind == "masked_lm")
    return {{"model_type", "bert"}, {"vocab_size", noise.vocabSize}, {"hidden_size", h},
            {"num_hidden_layers", layers}, {"num_attention_heads", heads}, {"intermediate_size", 4 * h},
            {"max_position_embeddings", std::max(c.model.maxLength, 512)}, {"type_vocab_size", 2},
            {"pad_token_id", pad}, {"hidden_act", "gelu"}, {"layer_norm_eps", 1e-12},
            {"hidden_dropout_prob", 0.1}, {"attention_probs_dropout_prob", 0.1}};
  return {{"model_type", "t5"}, {"vocab_size", noise.vocabSize}, {"d_model", h}, {"d_kv", h / heads},
          {"d_ff", 4 * h}, {"num_layers", layers}, {"num_decoder_layers", layers}, {"num_heads", heads},
          {"relative_attention_num_buckets", 32}, {"relative_attention_max_distance", 128},
          {"dropout_rate", 0.1}, {"layer_norm_epsilon", 1e-6}, {"feed_forward_proj", "relu"},
          {"tie_word_embeddings", true}, {"pad_token_id", pad}, {"eos_token_id", noise.eos},
          {"decoder_start_token_id", pad}};
}

} // namespace

HeadSpec headSpecFor(const ExperimentConfig &c, const std::string &name, int outputs)
{
  HeadSpec spec;
  spec.name = name;
  spec.kind = headKind(c);
  spec.outputs = outputs;
  spec.pooling = c.task.pooling == "first" ? Pooling::First : c.task.pooling == "mean" ? Pooling::Mean : Pooling::Native;
  spec.dropout = c.task.headDropout;
  return spec;
}

BuiltModel buildModel(const ExperimentConfig &c, int outputs, const Tokenizer &tokenizer,
                      const std::vector<HeadSpec> &extraHeads)
{
  BuiltModel b;
  const fs::path folder = c.resolve(c.model.path);
  const bool scratch = c.model.init == "random";
  std::string family;
  if (c.isDenoising() || c.isSeq2Seq()) {
    if (c.isDenoising())
      b.noise = PretrainingNoise::forTask(c.task.kind, c.task.noiseDensity, c.task.meanSpan, tokenizer);
    // Text-to-text: a T5 from scratch gets span corruption's vocabulary layout (sentinels after the
    // tokenizer's ids), so either objective can continue from the other's export.
    const PretrainingNoise shape =
        b.noise ? *b.noise : PretrainingNoise::forTask("span_corruption", 0.15, 3.0, tokenizer);
    json raw = denoisingModelConfig(c, shape, tokenizer, folder);
    const TensorMap weights = scratch ? TensorMap() : readCheckpoint(folder);
    if (c.task.kind == "masked_lm") {
      const EncoderConfig config = EncoderConfig::fromJson(raw, (folder / "config.json").string());
      if (config.vocabSize < shape.vocabSize)
        throw Error((folder / "config.json").string() +
                    ": field \"vocab_size\": " + std::to_string(config.vocabSize) +
                    " is smaller than the tokenizer's " + std::to_string(shape.vocabSize));
      b.mlm = MaskedLanguageModel(config);
      b.mlm->initialiseWeights();
      if (!scratch)
        b.loadReport =
            loadStateDict(*b.mlm, weights, folder.string(), config.modelType + ".", maskedLmHeadPrefixes())
                .summary();
      raw["architectures"] = {config.modelType == "roberta" ? "RobertaForMaskedLM"
                              : config.modelType == "distilbert" ? "DistilBertForMaskedLM" : "BertForMaskedLM"};
      b.model = b.mlm.ptr();
      family = config.modelType;
    } else {
      const T5Config config = T5Config::fromJson(raw, (folder / "config.json").string());
      const int needed = c.isSeq2Seq() ? tokenizer.vocabSize() : shape.vocabSize;
      if (config.vocabSize < needed)
        throw Error(
            (folder / "config.json").string() +
            ": field \"vocab_size\": " + std::to_string(config.vocabSize) +
            (c.isSeq2Seq()
                 ? " is smaller than the tokenizer's " + std::to_string(needed)
                 : std::string(" leaves no room for the 100 sentinels after the tokenizer's vocabulary")));
      b.seq2seq = T5Model(config);
      b.seq2seq->initialiseWeights();
      if (!scratch)
        b.loadReport = loadStateDict(*b.seq2seq, weights, folder.string(), "", {}).summary();
      raw["architectures"] = {"T5ForConditionalGeneration"};
      b.model = b.seq2seq.ptr();
      family = "t5";
    }
    b.configJson = raw.dump(2);
  } else if (c.isLanguageModelling()) {
    const Gpt2Config config = languageModelConfig(c, tokenizer, folder);
    b.lm = Gpt2LMHeadModel(config);
    if (scratch)
      b.lm->initialiseWeights();
    else {
      const LoadReport r = loadStateDict(*b.lm, readCheckpoint(folder), folder.string(), "", {});
      b.loadReport = r.summary();
    }
    json raw = config.raw.is_object() ? config.raw : json::object();
    raw["architectures"] = {"GPT2LMHeadModel"};
    b.configJson = raw.dump(2);
    b.model = b.lm.ptr();
    family = "gpt2";
  } else {
    // A Hugging Face folder's checkpoint is read once: the backbone and the folder's heads load from it.
    const TensorMap weights =
        !scratch && fileExists(folder / "config.json") ? readCheckpoint(folder) : TensorMap();
    std::unique_ptr<Backbone> backbone =
        scratch ? randomBackbone(folder)
                : loadBackbone(folder, &b.loadReport, weights.empty() ? nullptr : &weights);
    family = backbone->family();
    b.task = TaskModel(std::move(backbone));
    b.task->addHead(headSpecFor(c, kTaskHead, outputs));
    for (const HeadSpec &extra : extraHeads)
      b.task->addHead(extra);
    if (!weights.empty())
      if (const std::string heads = loadFolderHeads(*b.task, folder, weights); !heads.empty())
        b.loadReport += "; " + heads;
    b.model = b.task.ptr();
  }
  if (c.training.dropout >= 0)
    for (const auto &m : b.model->modules(false))
      if (auto *d = dynamic_cast<DropoutImpl *>(m.get()))
        d->p = c.training.dropout;
  b.strategy = makeStrategy(c, family, tokenizer);
  b.strategy->apply(*b.model);
  if (!c.strategy.adapter.empty())
    loadPeftAdapter(*b.model, peftNames(b), c.resolve(c.strategy.adapter));
  if (c.strategy.cacheFrozen && b.task)
    if (const int frozen = b.task->backbone().frozenBottomLayers(); frozen > 0)
      b.frozenCache = std::make_shared<FrozenLayerCache>(frozen, computesInBf16(c) ? torch::kBFloat16 : torch::kFloat32);
  b.shadows = Bf16ShadowOwner(b.model->parameters());
  return b;
}

PeftNames peftNames(BuiltModel &b)
{
  if (!b.task) // language models carry Hugging Face's names already
    return [](const std::string &name) {
      return name.rfind("prompt_encoder.", 0) == 0 || name.rfind("prefix_encoder.", 0) == 0 ? std::string()
                                                                                            : name;
    };
  const HfLayout layout = hfLayoutFor(b.task->backbone().family(), b.task->headSpecs());
  return [layout](const std::string &name) {
    return name.rfind("backbone.", 0) == 0 || name.rfind("heads.", 0) == 0 ? layout.folderName(name)
                                                                           : std::string();
  };
}

torch::Tensor BuiltModel::forward(const torch::Tensor &ids, const torch::Tensor &mask, const torch::Tensor &types)
{
  if (lm)
    return lm->forward(ids, mask);
  if (mlm)
    return mlm->forward(ids, mask, types);
  if (seq2seq)
    throw Error("a sequence-to-sequence model needs decoder inputs");
  return task->forward(kTaskHead, ids, mask, types);
}

torch::Tensor BuiltModel::forward(const Batch &b, const std::string &head)
{
  if (task && frozenCache)
    return task->forward(head, frozenCache->encode(task->backbone(), b));
  if (task && head != kTaskHead)
    return task->forward(head, b.ids, b.mask, b.types);
  if (seq2seq)
    return seq2seq->decode(b.decoderIds, b.decoderMask, seq2seq->encode(b.ids, b.mask), seq2seq->memoryMask(b.mask));
  if (mlm && b.labels.defined() && b.labels.dim() == 2)
    return mlm->forward(b.ids, b.mask, b.types, b.labels.ne(-100)); // the masked positions only
  return forward(b.ids, b.mask, b.types);
}

std::vector<int> BuiltModel::answer(std::vector<int> prompt, const GenerationOptions &options, int padId,
                                    int maxLength, int vocabularySize)
{
  const int stop = options.stopTokens.empty() ? -1 : options.stopTokens.front();
  if (seq2seq)
    return generateFromSource(seq2seq, std::move(prompt), options, stop, padId, maxLength, vocabularySize);
  if (!lm)
    throw Error("this model does not generate text");
  torch::NoGradGuard noGrad;
  std::vector<int> out = generate(*lm, prompt, options);
  if (!out.empty() && out.back() == stop)
    out.pop_back();
  return out;
}

bool excludedFromWeightDecay(const std::string &name)
{
  return name.find("bias") != std::string::npos || name.find("norm") != std::string::npos ||
         name.find("LayerNorm") != std::string::npos || name.find("ln_") != std::string::npos ||
         name.find("layer_norm") != std::string::npos;
}

void saveModel(torch::nn::Module &model, const fs::path &file)
{
  torch::serialize::OutputArchive archive;
  torch::NoGradGuard noGrad;
  for (const auto &p : model.named_parameters())
    archive.write(p.key(), p.value());
  for (const auto &b : model.named_buffers())
    archive.write(b.key(), b.value(), true);
  saveArchive(archive, file);
}

void saveArchive(torch::serialize::OutputArchive &archive, const fs::path &file)
{
  // Serialized in memory, then written by us: a full disk is one clear error (naming the file) and
  // the file before it stays whole, where LibTorch's own writer can abort the process.
  std::ostringstream bytes(std::ios::binary);
  archive.save_to(bytes);
  writeFileAtomically(file, bytes.str());
}

void loadArchive(torch::serialize::InputArchive &archive, const fs::path &file)
{
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))
    throw Error(file.string() + ": missing (the run's saved state is incomplete)");
  try {
    archive.load_from(file.string());
  } catch (const c10::Error &) {
    throw Error(file.string() + ": not a readable LibTorch archive (damaged or cut short)");
  }
}

void loadModel(torch::nn::Module &model, const fs::path &file)
{
  torch::serialize::InputArchive archive;
  loadArchive(archive, file);
  torch::NoGradGuard noGrad;
  const auto copy = [&](const std::string &key, torch::Tensor &into, const torch::Tensor &t) {
    if (t.sizes() != into.sizes() || t.scalar_type() != into.scalar_type())
      throw Error(file.string() + ": tensor \"" + key +
                  "\" does not have the model's shape and type (was the config changed?)");
    into.copy_(t);
  };
  for (auto &p : model.named_parameters()) {
    torch::Tensor t;
    if (!archive.try_read(p.key(), t))
      throw Error(file.string() + ": has no tensor \"" + p.key() + "\" (was the config changed?)");
    copy(p.key(), p.value(), t);
  }
  for (auto &b : model.named_buffers()) {
    torch::Tensor t;
    if (archive.try_read(b.key(), t, true))
      copy(b.key(), b.value(), t);
  }
}

} // namespace tunebench
