#include "core/export/onnxexport.h"

#include "core/export/exportfiles.h"
#include "core/export/onnxgraph.h"
#include "core/models/encoder.h"
#include "core/models/gpt2.h"
#include "core/models/hflayout.h"
#include "core/models/uselite.h"
#include "core/runtime/paths.h"
#include "core/train/batches.h"
#include "core/train/builtmodel.h"
#include "core/train/trainedrun.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"

#include <torch/torch.h>

#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;
using G = OnnxGraph;

namespace {

const float kLowest = std::numeric_limits<float>::lowest();

// What a backbone gives its heads in the graph: hidden states, the family's pooled vector, the mask
// the hidden states go with (float [batch, time]).
struct Encoded
{
  std::string hidden, pooled, mask;
};

std::string timeOf(G &g, const std::string &ids)
{
  return g.op("Gather", {g.op("Shape", {ids}), g.scalarInt(1)});
}

// [B, T, heads·d] → [B, heads, T, d] (keys: [B, heads, d, T]).
std::string splitHeads(G &g, const std::string &x, int heads, int size, bool keys = false)
{
  const std::string r = g.op("Reshape", {x, g.ints({0, 0, heads, size})});
  return g.op("Transpose", {r},
              {G::attrs("perm", keys ? std::vector<std::int64_t>{0, 2, 3, 1}
                                     : std::vector<std::int64_t>{0, 2, 1, 3})});
}

// A fused projection's query, key and value ([B, T, 3·width] → three [B, T, width]).
std::array<std::string, 3> splitQkv(G &g, const std::string &qkv, int width)
{
  std::array<std::string, 3> out;
  for (int i = 0; i < 3; ++i)
    out[static_cast<std::size_t>(i)] =
        g.op("Slice", {qkv, g.ints({i * width}), g.ints({(i + 1) * width}), g.ints({2})});
  return out;
}

// softmax(q·kᵀ·scale + mask)·v, heads merged back: [B, T, heads·d].
std::string attend(G &g, const std::string &q, const std::string &k, const std::string &v,
                   const std::string &mask, double divisor, int width)
{
  std::string scores = g.op("MatMul", {q, k});
  if (divisor != 1.0)
    scores = g.op("Div", {scores, g.scalar(static_cast<float>(divisor))});
  const std::string probs = g.op("Softmax", {g.op("Add", {scores, mask})}, {G::attr("axis", -1)});
  const std::string context =
      g.op("Transpose", {g.op("MatMul", {probs, v})}, {G::attrs("perm", {0, 2, 1, 3})});
  return g.op("Reshape", {context, g.ints({0, 0, width})});
}

// (1 - mask)·fill as [B, 1, 1, T].
std::string additiveMask(G &g, const std::string &maskFloat, float fill)
{
  const std::string m = g.op("Mul", {g.op("Sub", {g.scalar(1.0f), maskFloat}), g.scalar(fill)});
  return g.op("Reshape", {m, g.ints({0, 1, 1, -1})});
}

std::string activation(G &g, const std::string &x, const std::string &name)
{
  if (name == "relu")
    return g.op("Relu", {x});
  return g.gelu(x, name != "gelu");
}

Encoded encoderGraph(G &g, TransformerEncoderImpl &m)
{
  const EncoderConfig &c = m.config();
  const std::string ids = "input_ids", maskFloat = g.op("Cast", {"attention_mask"}, {G::attr("to", 1)});
  std::string x = g.embedding(m.embeddings->words->weight, ids);
  std::string positions;
  if (c.modelType == "roberta") { // counted over the non-padding tokens from padding_idx + 1
    const std::string real =
        g.op("Cast", {g.op("Not", {g.op("Equal", {ids, g.scalarInt(c.padTokenId)})})}, {G::attr("to", 7)});
    positions =
        g.op("Add", {g.op("Mul", {g.op("CumSum", {real, g.scalarInt(1)}), real}), g.scalarInt(c.padTokenId)});
  } else {
    positions = g.op("Range", {g.scalarInt(0), timeOf(g, ids), g.scalarInt(1)});
  }
  x = g.op("Add", {x, g.op("Gather",
                           {g.weight("position_embeddings", m.embeddings->positions->weight), positions})});
  if (m.embeddings->tokenTypes) // single texts: token type 0
    x = g.op("Add", {x, g.weight("token_type_0", m.embeddings->tokenTypes->weight[0])});
  x = g.layerNorm(x, m.embeddings->norm->weight, m.embeddings->norm->bias, c.layerNormEps);
  const std::string mask = additiveMask(g, maskFloat, kLowest);
  const int d = c.hiddenSize / c.numHeads;
  for (const auto &module : *m.layers) {
    auto *l = module->as<EncoderLayerImpl>();
    const std::string q = splitHeads(g, g.linear(x, l->query->weight, l->query->bias), c.numHeads, d);
    const std::string k = splitHeads(g, g.linear(x, l->key->weight, l->key->bias), c.numHeads, d, true);
    const std::string v = splitHeads(g, g.linear(x, l->value->weight, l->value->bias), c.numHeads, d);
    const std::string context = attend(g, q, k, v, mask, std::sqrt(static_cast<double>(d)), c.hiddenSize);
    const std::string a =
        g.layerNorm(g.op("Add", {x, g.linear(context, l->attentionOut->weight, l->attentionOut->bias)}),
                    l->attentionNorm->weight, l->attentionNorm->bias, c.layerNormEps);
    const std::string inner =
        activation(g, g.linear(a, l->feedForwardIn->weight, l->feedForwardIn->bias), c.activation);
    x = g.layerNorm(g.op("Add", {a, g.linear(inner, l->feedForwardOut->weight, l->feedForwardOut->bias)}),
                    l->outputNorm->weight, l->outputNorm->bias, c.layerNormEps);
  }
  const std::string first = g.op("Gather", {x, g.scalarInt(0)}, {G::attr("axis", 1)});
  const std::string pooled =
      m.pooler ? g.op("Tanh", {g.linear(first, m.pooler->weight, m.pooler->bias)}) : first;
  return {x, pooled, maskFloat};
}

std::string maskedMean(G &g, const std::string &x, const std::string &maskFloat)
{
  const std::string m = g.op("Unsqueeze", {maskFloat, g.ints({2})});
  const std::string sum = g.op("ReduceSum", {g.op("Mul", {x, m}), g.ints({1})}, {G::attr("keepdims", 0)});
  const std::string count =
      g.op("Max", {g.op("ReduceSum", {m, g.ints({1})}, {G::attr("keepdims", 0)}), g.scalar(1.0f)});
  return g.op("Div", {sum, count});
}

Encoded useLiteGraph(G &g, UseLiteEncoderImpl &m)
{
  const UseLiteConfig &c = m.config();
  // Tokens past max_length are dropped, as the graph's ClipToMaxLength does.
  const auto clip = [&](const std::string &t) {
    return g.op("Slice", {t, g.ints({0}), g.ints({c.maxLength}), g.ints({1})});
  };
  const std::string ids = clip("input_ids");
  const std::string maskFloat = g.op("Cast", {clip("attention_mask")}, {G::attr("to", 1)});
  const std::string m3 = g.op("Unsqueeze", {maskFloat, g.ints({2})});
  const std::string e = g.embedding(m.embeddings->weight, g.op("Max", {ids, g.scalarInt(0)}));
  const std::string steps =
      g.op("Cast", {g.op("Range", {g.scalarInt(0), timeOf(g, ids), g.scalarInt(1)})}, {G::attr("to", 1)});
  const std::string angles = g.op("Mul", {g.op("Unsqueeze", {steps, g.ints({1})}),
                                          g.weight("inv_timescales", m.invTimescales.unsqueeze(0))});
  const std::string timing =
      g.op("Unsqueeze", {g.op("Concat", {g.op("Sin", {angles}), g.op("Cos", {angles})}, {G::attr("axis", 1)}),
                         g.ints({0})});
  std::string x = g.op("Mul", {g.op("Add", {g.op("Mul", {e, g.scalar(2.0f)}), timing}), m3});
  const std::string mask = additiveMask(g, maskFloat, -1e9f);
  for (const auto &module : *m.layers) {
    auto *l = module->as<UseLiteLayerImpl>();
    const int width = static_cast<int>(l->qkv->weight.size(1)), d = width / c.numHeads;
    const std::string qkv = g.linear(g.layerNorm(x, l->norm->weight, l->norm->bias, c.layerNormEps),
                                     l->qkv->weight, l->qkv->bias);
    const auto [q, k, v] = splitQkv(g, qkv, width);
    const std::string scaled =
        g.op("Mul", {splitHeads(g, q, c.numHeads, d),
                     g.scalar(static_cast<float>(1.0 / std::sqrt(static_cast<double>(d))))});
    const std::string context = attend(g, scaled, splitHeads(g, k, c.numHeads, d, true),
                                       splitHeads(g, v, c.numHeads, d), mask, 1.0, width);
    const std::string residual = l->residual ? g.linear(x, l->residual->weight, l->residual->bias) : x;
    const std::string y = g.op("Add", {g.linear(context, l->out->weight, l->out->bias), residual});
    const std::string ffn =
        g.linear(g.op("Relu", {g.linear(g.layerNorm(y, l->ffnNorm->weight, l->ffnNorm->bias, c.layerNormEps),
                                        l->fc1->weight, l->fc1->bias)}),
                 l->fc2->weight, l->fc2->bias);
    x = g.op("Add", {y, ffn});
  }
  const std::string t =
      g.op("Tanh", {g.linear(maskedMean(g, x, maskFloat), m.pooler->weight, m.pooler->bias)});
  const std::string norm =
      g.op("Max", {g.op("ReduceSum", {g.op("Mul", {t, t}), g.ints({-1})}, {G::attr("keepdims", 1)}),
                   g.scalar(1e-12f)});
  return {x, g.op("Mul", {t, g.op("Reciprocal", {g.op("Sqrt", {norm})})}), maskFloat};
}

// GPT-2's stack and final LayerNorm; `wte` receives the token embedding's name (the tied LM head).
Encoded gpt2Graph(G &g, Gpt2LMHeadModelImpl &m, std::string &wte)
{
  const Gpt2Config &c = m.config();
  const std::string ids = "input_ids", maskFloat = g.op("Cast", {"attention_mask"}, {G::attr("to", 1)});
  const std::string time = timeOf(g, ids);
  std::string x = g.op("Add", {g.embedding(m.wte->weight, ids, &wte),
                               g.op("Gather", {g.weight("wpe", m.wpe->weight),
                                               g.op("Range", {g.scalarInt(0), time, g.scalarInt(1)})})});
  const std::string square =
      g.op("Concat", {g.op("Unsqueeze", {time, g.ints({0})}), g.op("Unsqueeze", {time, g.ints({0})})},
           {G::attr("axis", 0)});
  const std::string above =
      g.op("Trilu", {g.op("Expand", {g.scalar(1.0f), square}), g.scalarInt(1)}, {G::attr("upper", 1)});
  const std::string causal = g.op("Unsqueeze", {g.op("Mul", {above, g.scalar(kLowest)}), g.ints({0, 1})});
  const std::string mask =
      g.op("Max", {g.op("Add", {causal, additiveMask(g, maskFloat, kLowest)}), g.scalar(kLowest)});
  const int d = c.hiddenSize / c.numHeads;
  for (const auto &module : *m.blocks) {
    auto *b = module->as<Gpt2BlockImpl>();
    const std::string qkv = g.linear(g.layerNorm(x, b->ln1->weight, b->ln1->bias, c.layerNormEps),
                                     b->attention->weight, b->attention->bias, true);
    const int w = c.hiddenSize;
    const auto [q, k, v] = splitQkv(g, qkv, w);
    const std::string context =
        attend(g, splitHeads(g, q, c.numHeads, d), splitHeads(g, k, c.numHeads, d, true),
               splitHeads(g, v, c.numHeads, d), mask, std::sqrt(static_cast<double>(d)), w);
    const std::string h = g.op(
        "Add", {x, g.linear(context, b->attentionProjection->weight, b->attentionProjection->bias, true)});
    const std::string inner = g.linear(g.layerNorm(h, b->ln2->weight, b->ln2->bias, c.layerNormEps),
                                       b->feedForwardIn->weight, b->feedForwardIn->bias, true);
    x = g.op("Add", {h, g.linear(activation(g, inner, c.activation), b->feedForwardOut->weight,
                                 b->feedForwardOut->bias, true)});
  }
  x = g.layerNorm(x, m.lnF->weight, m.lnF->bias, c.layerNormEps);
  // A decoder's summary of a sequence: its last real token.
  const std::string last = g.op(
      "Max",
      {g.op("Sub", {g.op("ReduceSum", {g.op("Cast", {"attention_mask"}, {G::attr("to", 7)}), g.ints({1})},
                         {G::attr("keepdims", 0)}),
                    g.scalarInt(1)}),
       g.scalarInt(0)});
  const std::string pooled =
      g.op("GatherND", {x, g.op("Unsqueeze", {last, g.ints({1})})}, {G::attr("batch_dims", 1)});
  return {x, pooled, maskFloat};
}

std::string headGraph(G &g, TaskHeadImpl &head, const Encoded &e)
{
  const HeadSpec &s = head.spec();
  if (s.kind == HeadKind::TokenClassification)
    return g.linear(e.hidden, head.linear->weight, head.linear->bias);
  std::string pooled = e.pooled;
  if (s.pooling == Pooling::First)
    pooled = g.op("Gather", {e.hidden, g.scalarInt(0)}, {G::attr("axis", 1)});
  else if (s.pooling == Pooling::Mean)
    pooled = maskedMean(g, e.hidden, e.mask);
  if (s.style == HeadStyle::DenseTanh)
    pooled = g.op("Tanh", {g.linear(pooled, head.dense->weight, head.dense->bias)});
  else if (s.style == HeadStyle::DenseRelu)
    pooled = g.op("Relu", {g.linear(pooled, head.dense->weight, head.dense->bias)});
  return g.linear(pooled, head.linear->weight, head.linear->bias);
}

void refuseUnsupported(BuiltModel &built)
{
  const std::string strategy = built.strategy->name();
  if (!built.strategy->canMerge() && hasStrategyTensors(built))
    throw Error("ONNX export takes the weights alone: a " + strategy +
                " run's parameters are not part of them (LoRA and IA3 are merged in; export --format peft or "
                "tunebench for this run)");
  if (built.seq2seq || built.mlm)
    throw Error(
        "ONNX export covers encoder classifiers and taggers (BERT, RoBERTa, DistilBERT, USE-Lite, GPT-2) "
        "and GPT-2 language models; this run's model is not one of them (export --format hf)");
  if (built.task && built.task->headSpecs().size() != 1)
    throw Error(
        "ONNX export of a multi-task model is not supported: export --format hf (tunebench's layout)");
}

} // namespace

json writeOnnxFolder(TrainedRun &run, const fs::path &folder, bool int8)
{
  BuiltModel &built = run.model();
  refuseUnsupported(built);
  const MergeScope scope(built);
  torch::NoGradGuard noGrad;
  G g;
  g.setInt8(int8);
  g.input("input_ids", true, {{"batch"}, {"sequence"}});
  g.input("attention_mask", true, {{"batch"}, {"sequence"}});
  std::string logits;
  std::vector<G::Dim> dims = {{"batch"}};
  json info;
  if (built.lm) {
    std::string wte;
    const Encoded e = gpt2Graph(g, *built.lm, wte);
    logits = g.op("MatMul", {e.hidden, g.op("Transpose", {wte})}); // the tied head
    dims.insert(dims.end(), {{"sequence"}, {"", built.lm->config().vocabSize}});
    info["architecture"] = "GPT2LMHeadModel";
  } else {
    torch::nn::Module *backbone = built.task->backbone().module().get();
    Encoded e;
    std::string wte;
    if (auto *enc = dynamic_cast<TransformerEncoderImpl *>(backbone))
      e = encoderGraph(g, *enc);
    else if (auto *use = dynamic_cast<UseLiteEncoderImpl *>(backbone))
      e = useLiteGraph(g, *use);
    else if (auto *gpt = dynamic_cast<Gpt2LMHeadModelImpl *>(backbone))
      e = gpt2Graph(g, *gpt, wte);
    else
      throw Error("ONNX export of a " + built.task->backbone().family() +
                  " model is not supported (export --format hf)");
    const HeadSpec spec = built.task->headSpecs().front();
    logits = headGraph(g, *built.task->head(spec.name), e);
    if (spec.kind == HeadKind::TokenClassification)
      dims.push_back({"sequence"});
    dims.push_back({"", spec.outputs});
    info["architecture"] = built.task->backbone().family() + " " +
                           (spec.kind == HeadKind::TokenClassification ? "tagger" : "classifier");
  }
  g.op("Identity", {logits}, {}, "logits");
  g.output("logits", dims);
  fs::create_directories(folder);
  writeFileAtomically(folder / "model.onnx", g.serialize("tunebench"));
  const ExperimentConfig &c = run.config();
  copyTokenizerFiles(c.resolve(c.model.path), folder);
  writeJsonFile(folder / "labels.json", run.labels());
  writeRunConfig(c, folder, c.resolve(c.model.path).string());
  info["layout"] =
      "ONNX opset 17 (model.onnx): inputs input_ids, attention_mask (int64, dynamic batch and sequence; "
      "token types 0), output logits";
  info["merged"] = scope.merged() ? json(built.strategy->name()) : json(nullptr);
  std::int64_t fp32 = 0;
  for (const auto &p : built.model->named_parameters())
    if (!isStrategyTensor(p.key()))
      fp32 += p.value().numel() * 4;
  info["fp32_weight_bytes"] = fp32;
  info["file_bytes"] = static_cast<std::int64_t>(fs::file_size(folder / "model.onnx"));
  if (int8)
    info["quantization"] =
        "int8 weights per output channel (linear maps, embedding rows), uint8 activations per "
        "tensor as they come (DynamicQuantizeLinear, MatMulInteger)";
  return info;
}

namespace {

std::string findOnPath(const std::string &program)
{
  const char *path = std::getenv("PATH");
  std::string all = path ? path : "/usr/bin:/bin";
  std::size_t at = 0;
  while (at <= all.size()) {
    const std::size_t colon = all.find(':', at);
    const std::string dir = all.substr(at, colon == std::string::npos ? std::string::npos : colon - at);
    if (!dir.empty() && fileExists(fs::path(dir) / program))
      return (fs::path(dir) / program).string();
    if (colon == std::string::npos)
      break;
    at = colon + 1;
  }
  return {};
}

std::string shellQuoted(const std::string &s)
{
  std::string out = "'";
  for (char ch : s)
    out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

void writeRaw(const fs::path &file, const torch::Tensor &t)
{
  const torch::Tensor c = t.contiguous();
  std::ofstream out(file, std::ios::binary);
  out.write(static_cast<const char *>(c.data_ptr()), static_cast<std::streamsize>(c.nbytes()));
  if (!out)
    throw Error(file.string() + ": cannot write");
}

} // namespace

std::vector<torch::Tensor> runOnnxRuntime(const fs::path &model, const std::vector<Batch> &batches)
{
  std::string node = findOnPath("node");
  if (node.empty())
    node = findOnPath("nodejs");
  if (node.empty())
    throw Error("the ONNX export is checked in onnxruntime through Node.js, and no node is on PATH "
                "(sudo apt install nodejs, or packaging/install-deps.sh assets)");
  const fs::path script = executableDir().parent_path() / "lib" / "tunebench" / "onnx-verify.cjs";
  if (!fileExists(script))
    throw Error(script.string() + ": the ONNX check's script is missing (reinstall tunebench)");
  const fs::path runtime = assetsDir() / "npm" / "node_modules" / "onnxruntime-node";
  if (!fileExists(runtime / "package.json"))
    throw Error(runtime.string() + ": onnxruntime-node is missing, which checks ONNX exports (tunebench-cli "
                                   "fetch-assets installs it)");
  const fs::path work = model.parent_path() / ".onnx-check";
  fs::create_directories(work);
  json request = json::array();
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const std::string n = std::to_string(i);
    writeRaw(work / ("ids" + n + ".bin"), batches[i].ids.to(torch::kLong));
    writeRaw(work / ("mask" + n + ".bin"), batches[i].mask.to(torch::kLong));
    request.push_back({{"ids", "ids" + n + ".bin"},
                       {"mask", "mask" + n + ".bin"},
                       {"logits", "logits" + n + ".bin"},
                       {"shape", batches[i].ids.sizes().vec()}});
  }
  writeJsonFile(work / "request.json", request);
  const std::string command = shellQuoted(node) + " " + shellQuoted(script.string()) + " " +
                              shellQuoted(runtime.string()) + " " + shellQuoted(model.string()) + " " +
                              shellQuoted(work.string()) + " 2>" + shellQuoted((work / "error.txt").string());
  const int status = std::system(command.c_str());
  if (status != 0 || !fileExists(work / "reply.json")) {
    std::ifstream err(work / "error.txt");
    const std::string text((std::istreambuf_iterator<char>(err)), {});
    throw Error("onnxruntime could not run the exported model: " +
                (text.empty() ? std::string("exit ") + std::to_string(WEXITSTATUS(status)) : text));
  }
  const json reply = readJsonFile(work / "reply.json");
  std::vector<torch::Tensor> out;
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const std::vector<std::int64_t> shape = reply.at(i).at("dims").get<std::vector<std::int64_t>>();
    std::ifstream in(work / ("logits" + std::to_string(i) + ".bin"), std::ios::binary);
    torch::Tensor t = torch::empty(shape, torch::kFloat32);
    in.read(static_cast<char *>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
    if (!in)
      throw Error((work / ("logits" + std::to_string(i) + ".bin")).string() +
                  ": onnxruntime's reply is short");
    out.push_back(t);
  }
  std::error_code ec;
  fs::remove_all(work, ec);
  return out;
}

} // namespace tunebench
